"""The merchant's change log in their words: every saved change to the program and its features (earning, rewards,
tiers, referrals, emails) described by label, in the form's order, with names instead of ids.

It sits above the features it describes (it reads their settings' labels and their rows' names) and below the
staff API that shows it; the changes themselves are recorded by ``program.settings_changes``.
"""

"""The loyalty program: the merchant's rules, and the actions that apply them to orders and customers."""

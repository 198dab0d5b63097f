"""The tenant: one ``Install`` row per Saleor store that installed the app, and which stores this deployment serves.

Every row of domain data belongs to one install, so members, the ledger and everything above them need the
``Install`` model; none of them need to talk to Saleor. Keeping the tenant here, below the Saleor client
(``saleor_loyalty.saleor``), lets them name their store without importing the integration. Nothing in this
package makes a network call: it is the row, the allowlist of store URLs, and looking a row up by URL.
"""

"""The dashboard extension's pages: the built React app (from dashboard_extension/) and the views serving it."""

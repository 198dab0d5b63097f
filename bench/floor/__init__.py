"""The ingest "floor": the least a Django webhook endpoint can do (RS256 detached-JWS verify + one INSERT).

Served by gunicorn exactly like the app, it is the baseline ``bench/ingest.py`` divides the app's figures by.
Nothing here is used by the app.
"""

"""The sync log's web layer beyond the page: its REST API (`api.py`)."""

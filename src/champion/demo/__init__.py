"""The end-to-end demo on MovieLens and the Telco churn table (``champion demo``)."""

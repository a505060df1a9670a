"""Metrics of the eval suite: ranking (``retrieval``), text tasks (``text``), structured
outputs (``structured``) and ragas with a local judge (``ragas_metrics``)."""

"""Kedro pipelines. Nodes are thin: they take data and parameters, call riskloop's packages,
and return data; the catalog (conf/base/catalog.yml) decides where data lives."""

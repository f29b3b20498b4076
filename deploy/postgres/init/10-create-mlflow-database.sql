-- Runs once, when the PostgreSQL volume is empty: MLflow keeps its tracking and registry tables
-- (and its own Alembic history) in a database of its own, next to riskloop's.
CREATE DATABASE mlflow OWNER riskloop;

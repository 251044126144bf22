"""The catalog: SQLAlchemy tables, migrations, the outbox of deliveries and the audit log."""

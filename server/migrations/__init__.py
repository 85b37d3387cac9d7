"""Alembic migrations of the district database; shipped inside the package so an
installed server can upgrade its own database (``checkpoint-server migrate``)."""

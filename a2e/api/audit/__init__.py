"""Admin audit query and export: ``GET /api/v1/admin/audit``."""

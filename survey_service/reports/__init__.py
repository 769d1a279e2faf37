"""PDF reports: the wage guide, an enterprise's own report and the participation circular."""

"""Public-health readiness: reserve, bed-demand projection, centre siting, early warning."""

"""The team's pages, one module per area; each has its own `urlpatterns` (under /o/<slug>/)."""

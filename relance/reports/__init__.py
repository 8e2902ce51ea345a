"""Reports: the aged balance at any date, the collection KPIs, and their exports."""

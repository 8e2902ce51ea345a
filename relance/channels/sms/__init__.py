"""SMS: short reminders through an HTTP provider, within quiet hours and a segment cap."""

"""Administration pages (users, teams, roles, scheduled jobs) and the menu other apps extend."""

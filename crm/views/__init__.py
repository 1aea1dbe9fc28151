"""Web views of the crm app; see the modules for records, stream, notifications, users."""

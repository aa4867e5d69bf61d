"""What every crossdock service stands on: settings, logs, database, jobs, events, HTTP."""

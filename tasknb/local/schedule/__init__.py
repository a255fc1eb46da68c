"""Schedules: cron and minute schedules, clocks, and the ticker that fires them."""

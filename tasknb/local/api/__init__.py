"""The HTTP face of the local server: routes, Snowflake-shaped answers, authentication."""

//! Placeholder: the Redis store lands with its issue.

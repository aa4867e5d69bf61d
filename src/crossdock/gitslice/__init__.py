"""GitSlice: a slice is an upstream branch minus ignored paths, kept in sync both ways."""

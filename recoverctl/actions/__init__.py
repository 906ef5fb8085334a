"""Step kinds: one small module each, with one async function, found through `registry`."""

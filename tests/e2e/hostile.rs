//! Hostile input: pages and API parameters built to break things.

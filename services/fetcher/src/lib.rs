//! fetcher service.

//! sink service.

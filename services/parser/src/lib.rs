//! parser service.

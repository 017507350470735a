//! Microsoft Graph client: sign-in, HTTP with paging, typed models.

pub(crate) mod answer;
pub use answer::Pace;
pub mod access;
pub mod auth;
pub mod batch;
pub mod client;
pub mod delta;
pub mod discovery;
pub mod error;
pub mod model;
pub mod pem;
pub mod permissions;
pub mod pfx;
pub mod write;

pub use client::{Credentials, Endpoints, GraphClient, Response, RetryPolicy};
pub use error::GraphError;

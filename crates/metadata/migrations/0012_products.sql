-- Operators' products and services (产品和服务) under authorized-operation
-- grants, their caps and prices, customers' subscriptions, metered
-- deliveries, the operators' maximum allowed revenue and the yearly
-- disclosure reports.
CREATE TABLE product (
    id TEXT PRIMARY KEY,
    code TEXT,
    operator_org_id TEXT NOT NULL REFERENCES organization (id),
    agreement_id TEXT NOT NULL REFERENCES agreement (id),
    grant_id TEXT NOT NULL REFERENCES access_grant (id),
    implementing_org_id TEXT NOT NULL REFERENCES organization (id),
    name TEXT NOT NULL,
    form TEXT NOT NULL,
    use_category TEXT NOT NULL,
    scenario TEXT NOT NULL,
    spec TEXT NOT NULL,
    registration_state TEXT NOT NULL,
    listing TEXT NOT NULL,
    due_date TEXT,
    publicity_start TEXT,
    publicity_end TEXT,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX product_operator ON product (operator_org_id);
CREATE INDEX product_implementing ON product (implementing_org_id);

-- Caps and prices, append-only: a later record of a tier takes over from
-- its own effective day, so what a past delivery cost never changes.
CREATE TABLE product_price (
    seq {serial_primary_key},
    product_id TEXT NOT NULL REFERENCES product (id),
    tier TEXT NOT NULL,
    unit TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    effective_from TEXT NOT NULL,
    announced_on TEXT NOT NULL,
    trial_until TEXT,
    basis TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE INDEX product_price_product ON product_price (product_id, seq);

CREATE TABLE revenue_ceiling (
    operator_org_id TEXT NOT NULL REFERENCES organization (id),
    year BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL,
    deduction_fen BIGINT NOT NULL,
    basis TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (operator_org_id, year)
);

CREATE TABLE product_subscription (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES product (id),
    customer_org_id TEXT NOT NULL REFERENCES organization (id),
    use_category TEXT NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    opinion TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX product_subscription_product ON product_subscription (product_id);
CREATE INDEX product_subscription_customer ON product_subscription (customer_org_id);

-- One row per charged or free delivery, written with its usage event.
CREATE TABLE product_delivery (
    seq {serial_primary_key},
    usage_seq BIGINT NOT NULL UNIQUE REFERENCES usage_event (seq),
    product_id TEXT NOT NULL REFERENCES product (id),
    subscription_id TEXT NOT NULL REFERENCES product_subscription (id),
    customer_org_id TEXT NOT NULL,
    operator_org_id TEXT NOT NULL,
    at TEXT NOT NULL,
    day TEXT NOT NULL,
    version BIGINT,
    rows_out BIGINT NOT NULL,
    unit TEXT,
    units BIGINT NOT NULL,
    unit_price_fen BIGINT NOT NULL,
    fee_fen BIGINT NOT NULL,
    free BIGINT NOT NULL
);
CREATE INDEX product_delivery_subscription ON product_delivery (subscription_id, day);
CREATE INDEX product_delivery_customer ON product_delivery (customer_org_id, day);
CREATE INDEX product_delivery_operator ON product_delivery (operator_org_id, day);

CREATE TABLE disclosure (
    id TEXT PRIMARY KEY,
    year BIGINT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organization (id),
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at TEXT NOT NULL,
    supersedes TEXT,
    superseded BIGINT NOT NULL
);
CREATE INDEX disclosure_year ON disclosure (year, org_id);

-- Requests from the public: 开放需求 and 纠错, with their answers.
CREATE TABLE public_request (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    resource_id TEXT REFERENCES resource (id),
    org_id TEXT NOT NULL REFERENCES organization (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    requester_name TEXT,
    requester_contact TEXT,
    state TEXT NOT NULL,
    outcome TEXT,
    answer TEXT,
    planned_date TEXT,
    submitted_at TEXT NOT NULL,
    due_date TEXT NOT NULL,
    answered_at TEXT,
    answered_by TEXT REFERENCES app_user (id)
);
CREATE INDEX public_request_org ON public_request (org_id, state);
CREATE INDEX public_request_submitted ON public_request (submitted_at);

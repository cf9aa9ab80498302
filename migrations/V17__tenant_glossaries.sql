-- Each tenant's glossary: terms every job of theirs honours, kept as they
-- are or translated a fixed way per language (voxline_core::glossary::Term
-- as JSON). A job takes a copy when it is made, merged with its own terms,
-- so a later change reaches new jobs only. PUT /v1/glossary replaces it.
CREATE TABLE tenant_glossaries (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    terms      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

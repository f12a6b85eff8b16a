-- Branding of the hosted pages (issue 5). Keep in step with ../sqlite/0015_branding.sql.
--
-- One JSON object per issuer (logo, colours, custom CSS, links, text overrides), read with
-- the issuer and checked by the model's rules on the way in; '{}' is Tessera's own look. It is
-- only ever read whole, for the pages, so it needs no columns of its own.

ALTER TABLE issuers ADD COLUMN branding TEXT NOT NULL DEFAULT '{}';

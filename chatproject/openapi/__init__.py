"""The OpenAPI 3 schema of the HTTP API (drf-spectacular), served at `/api/schema/` and browsable
at `/api/docs/`.

What the views declare with `@extend_schema` is the shape of `data` and the errors their
services raise; everything the project does the same way for every view is added here:

- every 2xx reply is wrapped in the `Envelope` (`{"code": 0, "msg", "data"}`), every 4xx/5xx
  reply is the `ErrorEnvelope` (`{"code", "msg", "errors"?}`), whatever the view declared;
- the errors every view of a kind can answer are added to what it declares: 400 (a body or a
  query), 401 (JWT or internal endpoints), 403 (internal endpoints: a wrong token), 413 and
  415 (a JSON body), 429 (throttled views) and 503 (the database or Redis is unreachable). A
  view marks a status it never answers with `None` in its `responses`
  (`responses={..., 503: None}`);
- the two auth schemes: `jwtAuth` (`Authorization: Bearer <access token>`) from DRF's
  authentication classes, and `internalToken` (`X-Internal-Token`) for views with IsInternal;
- schemas for the serializer fields the apps share (ids, query integers, roles, times,
  frames); the message object and its content are described by `send.schema`;
- the paths that are no DRF views (`/health`, `/metrics`, the client page `/`, the WebSocket
  `/api/ws`), added by a postprocessing hook; `tests/apidocs` fails when a URL has no docs.

Modules: `components` (hand-written schemas and security schemes), `extensions` (field and
auth extensions), `autoschema` (EnvelopeAutoSchema, settings' DEFAULT_SCHEMA_CLASS), `views`
(the schema and docs views), and `hooks` (the POSTPROCESSING_HOOK, named in settings): the
hook assembles the whole API, so like `urls.py` it belongs to the composition root and may
import any app.
"""

from chatproject.openapi.autoschema import EnvelopeAutoSchema
from chatproject.openapi.components import JWT_SCHEME
from chatproject.openapi.extensions import JWTAuthenticationScheme  # importing it registers the extensions
from chatproject.openapi.views import docs_view, schema_view

__all__ = ["JWT_SCHEME", "EnvelopeAutoSchema", "JWTAuthenticationScheme", "docs_view", "schema_view"]

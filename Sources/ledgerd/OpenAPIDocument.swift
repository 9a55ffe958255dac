/// docs/openapi.yaml, served at `/openapi.yaml`: written by scripts/embed-openapi.sh (a test checks
/// that it is the file in docs/).
enum OpenAPIDocument {
    static let yaml = #"""
        openapi: 3.1.0
        info:
          title: ledgerd — the tracing ledger as a network service
          version: 1.0.0
          summary: Append, read, follow and query a contact-tracing event ledger over HTTP.
          description: |
            `ledgerd` serves one tracing ledger (an append-only, hash-chained event log on LMDB) to the tools of
            a contact-tracing platform: they append events in batches, read the log and single streams page by
            page, follow the log live with Server-Sent Events, and query cases, statistics and closure reports.

            **Versioning.** The API is under `/v1`. `/livez`, `/readyz`, `/metrics` and `/openapi.yaml` are for
            operators and are not versioned.

            **Events.** Every event is in the JSON form of docs/events.md: an envelope (`id`, `stream`, `type`,
            `platform`, `occurredAt`, ...) and a `data` object, the payload of its `type` in protobuf's JSON
            mapping. The log gives each event a `position` (1, 2, 3, ... over the whole log) and a
            `streamVersion` (0, 1, 2, ... within its stream).

            **Identifiers with `/`.** Stream and case ids hold slashes (`cpam-34/p0/123`,
            `platform/cpam-34`). In a path (`/v1/streams/{stream}/events`, `/v1/cases/{case}`) send them either
            percent-encoded (`cpam-34%2Fp0%2F123`) or as raw path segments (`cpam-34/p0/123`): the server joins
            the segments with `/` and then percent-decodes the result, so both forms name the same id. A `%`
            that does not start a valid UTF-8 percent-encoding is refused (400). Ids are compared in Unicode
            NFC.

            **Idempotent appends.** `POST /v1/events` is all or nothing across streams. Each event's `id` is its
            idempotency key: resending a batch after a time-out is safe; events already in the log with the
            same content come back with `"status": "duplicate"` and their original positions. The reply is
            sent only once the events are durable (fsynced); concurrent requests share group commits.

            **Errors** are `application/problem+json` (RFC 9457), with `type` =
            `tag:tracing-ledger,2026:problem/NAME`:

            | NAME | status | when | extension members |
            | --- | --- | --- | --- |
            | `bad-parameter` | 400 | a query parameter, a path id or the `Last-Event-ID` header cannot be used | `parameter` (absent for the header) |
            | `malformed-json` | 400 | the append body is not JSON (every error of the batch is a syntax error) | `errors` |
            | `malformed-body` | 400 | the append body ended before its `Content-Length` (or a broken chunk) | — |
            | `unauthenticated` | 401 | no client certificate, one that names no role, or a revoked one | — |
            | `forbidden` | 403 | the principal's role may not do this, the event, stream, case or platform is not its own, or a browser says a request that changes something comes from another site (`Sec-Fetch-Site`) | `index`, `field` (an append's event) |
            | `not-found` | 404 | no such stream, case (a stream that opens no case is not one), platform, or no route at this path | — |
            | `method-not-allowed` | 405 | the path exists but not with this method (the `Allow` header lists its methods; every GET path also answers HEAD) | — |
            | `not-acceptable` | 406 | no representation matches `Accept` | — |
            | `version-conflict` | 409 | an event's `expectedVersion` is not its stream's version | `index`, `stream`, `expected`, `actual` |
            | `idempotency-conflict` | 409 | an event id is already in the log with other content | `index`, `id`, `position`, `field` |
            | `body-too-large` | 413 | the append body is over `--max-body-bytes` | `limit` |
            | `unsupported-media-type` | 415 | the append body's `Content-Type` is not a JSON or NDJSON type; a consultation's or a retention request's is not `application/json` | — |
            | `invalid-consultation` | 422 | an identity consultation without `reason` or `agent` | `field` |
            | `invalid-retention` | 422 | a retention request with a field it does not know, a date that is not one or is to come, or months that are not a whole number from 0 to 1200 | `field` |
            | `invalid-event` | 422 | an event breaks a rule of docs/events.md (or the batch is empty) | `errors` |
            | `integrity` | 500 | the ledger or its projections failed an integrity check | — |
            | `internal` | 500 | any other failure of the service | — |
            | `catching-up` | 503 | the read model lags the log (just after a start on a large ledger); retry after `Retry-After` | `position`, `head` |
            | `audit-unavailable` | 503 | a read of case data cannot be recorded in the access log (docs/security.md); nothing was served | — |
            | `ledger-unavailable` | 503 | the ledger cannot serve now; retry after `Retry-After` | — |
            | `read-only-copy` | 403 | the service serves a read-only copy of a ledger (`ledgerctl restore --read-only`): appends go to the ledger it copies; nothing was written | — |
            | `replica-unavailable` | 503 | `--replication-mode sync`: the replica in PostgreSQL cannot confirm the batch; not acknowledged, retry it as is (same ids) | `written` (whether the batch is already in the ledger) |
            | `storage-full` | 507 | the ledger's disk or map is full (an `EIO` at commit counts as full); nothing was written | — |

            400, 401, 403, 404, 405, 406, 409, 413, 415 and 422 will fail again if retried unchanged; 503 may be retried after
            `Retry-After` seconds; a request that timed out may be retried as is (appends are idempotent).

            **Security** (docs/security.md). `ledgerd` serves HTTPS (TLS 1.2 or 1.3) and asks every client for
            a certificate issued by its CA (`ledgerctl credentials`); the certificate names the principal (its
            subject's common name) and its role (its organisational unit): `platform`, `statistician` or
            `administrator`. `/livez`, `/readyz` and `/openapi.yaml` need none. Only a platform may consult
            an identity (`POST /v1/cases/{case}/identity`), and only for its own cases. A certificate that does not
            verify (another CA, expired) ends the TLS handshake; a request without one, or with a revoked one,
            is answered 401 (`unauthenticated`); a role that may not, or a platform touching another
            platform's events, streams, cases or statistics, 403 (`forbidden`). A platform appends events of
            its own platform to its own streams and to the cases handed over to it (not those that open,
            change, hand over or close a platform), and reads its own; a
            statistician reads statistics and closure reports only; an administrator reads everything and
            appends the events that open, set, hand over and close platforms, and applies the retention
            periods (`POST /v1/retention`). A server started with
            `--insecure-loopback` (development) serves plain HTTP on loopback and answers neither 401 nor 403.
          license:
            name: Proprietary
            identifier: LicenseRef-Proprietary
        servers:
          - url: https://localhost:8080
            description: The default port (`ledgerd --credentials DIR --port 8080`).
          - url: http://127.0.0.1:8080
            description: A development server (`ledgerd --insecure-loopback --port 8080`).
        security:
          - clientCertificate: []
        tags:
          - name: events
            description: Append to and read the log.
          - name: queries
            description: Cases, statistics and reports, answered from the read model (the projections of the log).
          - name: operations
            description: Health, metrics, this document, and the administrator's retention periods.
        paths:
          /v1/events:
            post:
              tags: [events]
              operationId: appendEvents
              summary: Append a batch of events, all or nothing
              description: |
                Appends the events of the body in order, across any number of streams, in one transaction:
                either every event is in the log when the reply comes, or none was written.

                The body is a JSON array of events (`application/json`), or NDJSON, one event per line
                (`application/x-ndjson`; also accepted: `application/ndjson`, `application/jsonl`,
                `application/x-jsonlines`). An `application/json` body (or a body without `Content-Type`) that
                does not start with `[` is read as NDJSON. Blank lines of NDJSON are skipped; a `\r` before
                `\n` is dropped. Any other `Content-Type` is refused with 415.

                Every event is checked before anything is written, and up to 20 errors are reported at once
                in `errors`, each with the event's `index` (from 0), its NDJSON `line` (from 1), the `field`
                (`id`, `data.outcome`, `data.identity.box`, `event` for the whole event, `body` for the
                body) and a `detail`. A batch whose errors are all JSON syntax errors is 400
                `malformed-json`; otherwise 422 `invalid-event`. An empty batch is 422.

                `expectedVersion` (per event) makes the append conditional: `"noStream"` (the stream must not
                exist), or the stream's current version (the `streamVersion` of its last event); a mismatch
                is 409 `version-conflict` and nothing is written. Two events of one batch with the same `id`
                must have the same content (else 422, field `id`).

                **Retries.** An event whose `id` is already in the log with the same content is not written
                again: it is reported as `"status": "duplicate"` with its original `position` and
                `streamVersion`. Its `expectedVersion` is not checked again. An `id` already in the log with
                other content is 409 `idempotency-conflict`.

                The reply (200) is sent once the events are durable.
              requestBody:
                required: true
                description: The batch, at most `--max-body-bytes` bytes (16 MiB by default).
                content:
                  application/json:
                    schema:
                      $ref: '#/components/schemas/Batch'
                    examples:
                      one:
                        summary: One call on an existing case
                        value:
                          - id: 6f1c2a8e-0b7d-4c1e-9a55-2f0e4b9d3c11
                            stream: cpam-34/p0/1
                            type: CallPlaced
                            platform: cpam-34
                            occurredAt: '2020-05-12T09:30:00Z'
                            expectedVersion: any
                            data: {direction: OUTBOUND, line: MOBILE, outcome: REACHED, durationSeconds: 420, agent: a-17}
                  application/x-ndjson:
                    schema:
                      type: string
                      description: >-
                        One event per line, each a JSON object with the schema `NewEvent` (UTF-8; blank lines
                        are skipped; lines end with `\n` or `\r\n`).
                    example: |
                      {"id":"6f1c2a8e-0b7d-4c1e-9a55-2f0e4b9d3c12","stream":"cpam-34/p0/1","type":"SMSSent","platform":"cpam-34","occurredAt":"2020-05-12T09:31:00Z","data":{"smsRef":"sms-1","template":"J0"}}
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: Every event of the batch is in the log and durable (appended now, or already there).
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/AppendReply'
                '400':
                  description: >-
                    The body is not JSON (`malformed-json`, with `errors`), or it ended before its
                    `Content-Length` (`malformed-body`); nothing was written.
                  content:
                    application/problem+json:
                      schema:
                        oneOf:
                          - $ref: '#/components/schemas/BatchProblem'
                          - allOf:
                              - $ref: '#/components/schemas/Problem'
                              - type: object
                                properties:
                                  type:
                                    const: 'tag:tracing-ledger,2026:problem/malformed-body'
                '409':
                  description: >-
                    A stream's version is not the expected one (`version-conflict`), or an event id is already
                    in the log with other content (`idempotency-conflict`); nothing was written.
                  content:
                    application/problem+json:
                      schema:
                        oneOf:
                          - $ref: '#/components/schemas/VersionConflictProblem'
                          - $ref: '#/components/schemas/IdempotencyConflictProblem'
                '413':
                  description: The body is over `--max-body-bytes` (`body-too-large`); send smaller batches.
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/BodyTooLargeProblem'
                '415':
                  description: The `Content-Type` is neither JSON nor NDJSON (`unsupported-media-type`).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '422':
                  description: An event cannot be accepted, or the batch is empty (`invalid-event`); nothing was written.
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/BatchProblem'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
                '507':
                  description: The ledger's disk or LMDB map is full (`storage-full`); nothing was written.
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
            get:
              tags: [events]
              operationId: readEvents
              summary: A page of the log
              description: |
                Events from position `from` on, in log order, at most `limit`, optionally only those of the
                given types and platforms. `next` (also in the `Link` header) is the request for the following
                page; follow it until `events` is empty and the `from` of `next` is beyond `head`, then poll
                it (or use `/v1/subscribe`).

                With a filter, a page reads at most 100 000 records: it may hold fewer than `limit` events
                (even none) while `next` has moved on; keep following `next`.
              parameters:
                - name: from
                  in: query
                  description: The first position to read (positions start at 1).
                  schema:
                    type: integer
                    minimum: 1
                    maximum: 18446744073709551615
                    default: 1
                - $ref: '#/components/parameters/limit'
                - $ref: '#/components/parameters/type'
                - $ref: '#/components/parameters/platform'
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: A page of events.
                  headers:
                    Link:
                      $ref: '#/components/headers/Link'
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/EventPage'
                '400':
                  $ref: '#/components/responses/BadParameter'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/streams/{stream}/events:
            get:
              tags: [events]
              operationId: readStream
              summary: A page of one stream
              description: |
                The events of one stream (a case or a platform stream) from stream version `from` on, in
                order, at most `limit`, with the stream's current `version`. `next` (also in the `Link`
                header) starts at the version after the last event returned.
              parameters:
                - $ref: '#/components/parameters/stream'
                - name: from
                  in: query
                  description: The first stream version to read (versions start at 0).
                  schema:
                    type: integer
                    minimum: 0
                    maximum: 18446744073709551615
                    default: 0
                - $ref: '#/components/parameters/limit'
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: A page of the stream.
                  headers:
                    Link:
                      $ref: '#/components/headers/Link'
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/StreamPage'
                '400':
                  $ref: '#/components/responses/BadParameter'
                '404':
                  $ref: '#/components/responses/NotFound'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/subscribe:
            get:
              tags: [events]
              operationId: subscribe
              summary: Follow the log (Server-Sent Events)
              description: |
                A catch-up subscription: the events from `from` (or after `Last-Event-ID`) up to the head,
                then an `event: caught-up`, then new events as they are committed, for as long as the
                connection stays open. The response never ends on its own (except for a client too slow,
                below); clients should use an SSE library or read it line by line.

                The stream, in the SSE format (https://html.spec.whatwg.org/multipage/server-sent-events.html):

                ```text
                retry: 1000

                id: 21066
                data: {"position":21066,"id":"...","stream":"cpam-34/p0/1827","streamVersion":8,"type":"CaseClosed",...}

                event: caught-up
                data: {"position":21068}

                : heartbeat

                event: closed
                data: {"reason":"too slow: ...; resume with Last-Event-ID","lastEventId":21066}
                ```

                - `retry: 1000` first: reconnect after one second.
                - Each event: `id:` its position, `data:` the event (schema `Event`) on one line; the default
                  event type (`message`).
                - `event: caught-up` once, when the subscriber has every event up to the head: `data` is
                  `{"position": HEAD}` (schema `CaughtUp`).
                - `: heartbeat` comments when nothing happened for `--heartbeat-seconds` (15 s).
                - `event: closed` when the client took longer than `--slow-subscriber-seconds` (10 s) to accept
                  one buffer of `--subscriber-buffer` (1000) events, or when the server shuts down: `data` is
                  `{"reason": ..., "lastEventId": N or null}` (schema `Closed`), then the response ends.
                  Reconnect with `Last-Event-ID`. The connection is not kept alive after a subscription
                  (`Connection: close`). A client that accepts nothing for `--stalled-subscriber-seconds`
                  (60 s; a dead or half-open connection) has its connection closed without a closing event.

                With a filter, events of other types or platforms are skipped (their ids are not sent).

                The response schema below describes **one event** as an SSE client delivers it (`event`,
                `data`, `id`), as OpenAPI 3.2's `itemSchema` would; `data` is JSON text.
              parameters:
                - name: from
                  in: query
                  description: The first position to send. Ignored when `Last-Event-ID` is given.
                  schema:
                    type: integer
                    minimum: 1
                    maximum: 18446744073709551615
                    default: 1
                - $ref: '#/components/parameters/type'
                - $ref: '#/components/parameters/platform'
                - name: Last-Event-ID
                  in: header
                  description: >-
                    The last position received (the `id:` of the last event): the subscription resumes after
                    it (`from` = this + 1). Surrounding spaces are ignored; anything but digits is 400.
                  schema:
                    type: string
                    pattern: '^ *[0-9]{1,20} *$'
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: The event stream (never-ending).
                  headers:
                    Cache-Control:
                      description: Always `no-cache`.
                      schema:
                        type: string
                        const: no-cache
                  content:
                    text/event-stream:
                      schema:
                        $ref: '#/components/schemas/ServerSentEvent'
                '400':
                  description: >-
                    A query parameter (`bad-parameter` with `parameter`) or the `Last-Event-ID` header
                    (`bad-parameter` without `parameter`, title "A header cannot be used") cannot be used.
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
          /v1/cases/{case}:
            get:
              tags: [queries]
              operationId: getCase
              summary: One case
              description: |
                A case: its platform, its person's pseudonym, its state folded from its own stream (and, for a
                contact, from its patient zéro's stream), and its timeline (one entry per event of its stream,
                without the payloads: read `/v1/streams/{stream}/events` for those).

                Any stream can be asked for: a stream that is not a case (`platform/cpam-34`) has `state: null`
                and `person: null`. Answered from the log directly, so it is never refused as catching up.
              parameters:
                - name: case
                  in: path
                  required: true
                  description: >-
                    The case id (its stream), e.g. `cpam-34/p0/1`, sent percent-encoded
                    (`cpam-34%2Fp0%2F1`) or as raw path segments (`cpam-34/p0/1`).
                  schema:
                    type: string
                    minLength: 1
                  examples:
                    patientZero:
                      value: cpam-34/p0/1
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: The case.
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/CaseDocument'
                '400':
                  $ref: '#/components/responses/BadParameter'
                '404':
                  $ref: '#/components/responses/NotFound'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/cases/{case}/identity:
            post:
              tags: [queries]
              operationId: revealIdentity
              summary: Reveal the identity of a case's person (audited)
              description: |
                Unseals the identity (NIR, names, birth date, phone, address) of the case's person for the
                platform that follows the case (docs/privacy.md, docs/security.md). Before anything is
                revealed, an `IdentityConsulted` event is appended to the case's stream and made durable. It
                names the agent, the principal of the client certificate (role, name, serial number) and the
                reason. A platform may consult only its own cases (or those handed over to it); no other role
                may consult. An identity whose key was destroyed (erasure, end of retention) comes back as
                `"erased"`.
              parameters:
                - name: case
                  in: path
                  required: true
                  description: The case id (its stream), percent-encoded or as raw path segments.
                  schema:
                    type: string
                    minLength: 1
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [reason, agent]
                      properties:
                        reason:
                          type: string
                          description: Why the identity is consulted (kept in the audit event).
                        agent:
                          type: string
                          description: The tracer who consults, under the certificate's principal.
              responses:
                '200':
                  description: The identity, revealed after its consultation was recorded.
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [case, person, platform, consultedBy, identity]
                        properties:
                          case:
                            type: string
                          person:
                            type: string
                            description: The person's pseudonym.
                          platform:
                            type: string
                          consultedBy:
                            type: string
                            description: The actor recorded in `IdentityConsulted`.
                          identity:
                            oneOf:
                              - type: string
                                const: erased
                              - type: object
                                required: [nir, lastName, firstName, birthDate]
                                properties:
                                  nir:
                                    type: string
                                  lastName:
                                    type: string
                                  firstName:
                                    type: string
                                  birthDate:
                                    type: string
                                  phone:
                                    type: string
                                  address:
                                    type: string
                '400':
                  description: The body is not a JSON object with `reason` and `agent` (`malformed-json`), or the case id cannot be used (`bad-parameter`).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '404':
                  description: >-
                    No such case, a case that names no person or holds no sealed identity, or a ledger
                    without a key store (`not-found`).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '413':
                  $ref: '#/components/responses/ObjectBodyTooLarge'
                '415':
                  $ref: '#/components/responses/NotJSONObject'
                '422':
                  description: >-
                    `reason` or `agent` is empty (`invalid-consultation`, with `field`).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
                '507':
                  description: The audit event cannot be written, the disk is full (`storage-full`); nothing was revealed.
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
          /v1/retention:
            post:
              tags: [operations]
              operationId: applyRetention
              summary: Apply the retention periods (administrators)
              description: |
                Destroys the key of every person whose retention period has ended by `asOf`, as
                `ledgerctl retention apply` does (docs/privacy.md): their sealed identity can no longer be
                revealed from any copy of the log, and a consultation answers `"erased"`. The periods default
                to the legal ones (contact-tracing records 3 months after collection, negative lab results 3
                months, positive ones 6 months). With `accessLogMonths`, the months of the access log older
                than that many months before the month of `asOf` are removed too (`ledgerctl audit prune`).

                Administrators only. `asOf` may not be after today (UTC): an erasure cannot be undone, and a
                date to come would erase identities before their period ends. Fields the request does not
                know are refused, so a misspelt period never falls back to the default. Applying the same
                request again erases nothing more. Before any key is destroyed, the access log records what
                is about to be applied (status 0, the request as a query string in `target`); if it cannot,
                nothing is destroyed (503 `audit-unavailable`). Every request, refused or not, is then
                recorded with its status.
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      additionalProperties: false
                      required: [asOf]
                      properties:
                        asOf:
                          $ref: '#/components/schemas/CivilDate'
                        contactTracingMonths:
                          type: integer
                          minimum: 0
                          maximum: 1200
                          default: 3
                        labNegativeMonths:
                          type: integer
                          minimum: 0
                          maximum: 1200
                          default: 3
                        labPositiveMonths:
                          type: integer
                          minimum: 0
                          maximum: 1200
                          default: 6
                        accessLogMonths:
                          type: integer
                          minimum: 0
                          maximum: 1200
                          description: Months of the access log kept before the month of `asOf`; absent, the access log is left alone.
              responses:
                '200':
                  description: What was applied, and what it destroyed.
                  content:
                    application/json:
                      schema:
                        type: object
                        additionalProperties: false
                        required: [asOf, months, erased, kept]
                        properties:
                          asOf:
                            $ref: '#/components/schemas/CivilDate'
                          months:
                            type: object
                            additionalProperties: false
                            required: [contactTracingMonths, labNegativeMonths, labPositiveMonths]
                            properties:
                              contactTracingMonths:
                                type: integer
                              labNegativeMonths:
                                type: integer
                              labPositiveMonths:
                                type: integer
                          erased:
                            type: integer
                            minimum: 0
                            description: Persons whose key this request destroyed.
                          kept:
                            type: integer
                            minimum: 0
                            description: Keys left in the key store.
                          accessLog:
                            type: object
                            additionalProperties: false
                            required: [keptMonths, removedBefore, removed]
                            properties:
                              keptMonths:
                                type: integer
                              removedBefore:
                                type: string
                                pattern: '^[0-9]{4}-[0-9]{2}$'
                                description: The oldest month kept (`YYYY-MM`).
                              removed:
                                type: array
                                items:
                                  type: string
                                  pattern: '^[0-9]{4}-[0-9]{2}$'
                '400':
                  description: The body is not a JSON object (`malformed-json`).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '404':
                  description: >-
                    The ledger has no key store, its identities were not sealed here (`not-found`).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '413':
                  $ref: '#/components/responses/ObjectBodyTooLarge'
                '415':
                  $ref: '#/components/responses/NotJSONObject'
                '422':
                  description: A field it does not know, `asOf` missing, not a date or after today, or months out of range (`invalid-retention`, with `field`); no key was destroyed.
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
                '507':
                  description: >-
                    The key store's disk is full (`storage-full`). The store commits, then flushes, so some
                    keys may already be destroyed without being durable: apply the same request again once
                    space is freed (it erases nothing twice).
                  content:
                    application/problem+json:
                      schema:
                        $ref: '#/components/schemas/Problem'
          /v1/stats:
            get:
              tags: [queries]
              operationId: getStatistics
              summary: Statistics per platform and period
              description: |
                The statistics rows of docs/statistics.md (the columns of `ledgerctl stats`), one per platform
                and period with activity (periods without activity have no row: count them as zeros). With
                several platforms, or `platform=all`, the rows of each platform are followed by their merged
                total with `platform` = `all`.

                Representation: the `format` parameter if given, else `Accept` (`application/json` or
                `text/csv`, by q-value; `*/*` gives JSON, `text/*` gives CSV), else JSON. Other `Accept`
                values are 406.

                Without `asOf`, answered from the read model as of the log's head; `asOf` builds a temporary
                read model of the facts before the end of that day (slower; one such query at a time).
              parameters:
                - name: platform
                  in: query
                  description: >-
                    Platforms to report (repeat it, or separate with commas); `all` for every platform with
                    their merged total. Absent: every platform, without a total. An unknown platform is 404.
                  style: form
                  explode: true
                  schema:
                    type: array
                    items:
                      type: string
                  examples:
                    one:
                      value: [cpam-34]
                - name: by
                  in: query
                  description: >-
                    The period: `day` (`2021-03-01`), `week` (ISO 8601, `2021-W09`) or `month` (`2021-03`).
                  schema:
                    type: string
                    enum: [day, week, month]
                    default: week
                - name: asOf
                  in: query
                  description: >-
                    Count only facts (by `occurredAt`) before the end of this day (UTC), `YYYY-MM-DD`, year
                    1900 to 9999.
                  schema:
                    type: string
                    format: date
                    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                - name: format
                  in: query
                  description: The representation, overriding `Accept`.
                  schema:
                    type: string
                    enum: [json, csv]
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: The statistics.
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/Statistics'
                    text/csv:
                      schema:
                        type: string
                        description: >-
                          RFC 4180 CSV (`text/csv; charset=utf-8`, `\n` line ends): a header line with the
                          columns of `StatisticsRow` in the order `platform, period, periodStart,
                          patientsZero, contacts, followed, outboundCalls, outboundReached, reachedRate,
                          inboundCalls, landlineCalls, sms, letters, teleservice, p0ReachedWithin24hShare,
                          contactsNotifiedWithin24hShare, contactsPerP0Mean, contactsPerP0Median,
                          p0NoContactShare, digitalOnlyShare, medianDelayHours, contactsLaterPositive`, then
                          one line per row. Shares and means have four decimals; a share without a
                          denominator is an empty field.
                '400':
                  $ref: '#/components/responses/BadParameter'
                '404':
                  $ref: '#/components/responses/NotFound'
                '406':
                  $ref: '#/components/responses/NotAcceptable'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/reports/closure:
            get:
              tags: [queries]
              operationId: getClosureReport
              summary: The closure report of a platform
              description: |
                The report of a platform that shuts down (provisional while it is open): insured followed,
                weekly timeline, monthly channel mix, cases open at closure, and the seal of the history it
                covers (check it with `ledgerctl verify --report FILE`).

                Representation: the `format` parameter if given, else `Accept` (`application/json`,
                `text/markdown` or `text/html`, by q-value; `*/*` gives JSON, `text/*` gives Markdown), else
                JSON. Other `Accept` values are 406.
              parameters:
                - name: platform
                  in: query
                  required: true
                  description: The platform id, e.g. `cpam-34` (an unknown one is 404).
                  schema:
                    type: string
                  examples:
                    one:
                      value: cpam-34
                - name: lang
                  in: query
                  description: The language of the Markdown and HTML forms (the JSON form has none).
                  schema:
                    type: string
                    enum: [fr, en]
                    default: fr
                - name: format
                  in: query
                  description: The representation, overriding `Accept`.
                  schema:
                    type: string
                    enum: [json, md, html]
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: The report.
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/ClosureReport'
                    text/markdown:
                      schema:
                        type: string
                        description: The report in Markdown (`text/markdown; charset=utf-8`).
                    text/html:
                      schema:
                        type: string
                        description: A self-contained HTML page with an inline SVG chart (`text/html; charset=utf-8`).
                '400':
                  $ref: '#/components/responses/BadParameter'
                '404':
                  $ref: '#/components/responses/NotFound'
                '406':
                  $ref: '#/components/responses/NotAcceptable'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /:
            get:
              tags: [queries]
              operationId: dashboard
              summary: The dashboard (HTML)
              description: |
                A self-contained HTML page for statisticians and administrators (not platforms: its live count
                is that of the whole log):
                a platform's headline figures, patients zéro versus contacts per week as an inline SVG chart,
                the monthly indicators of docs/statistics.md, links to the closure report and the CSV, and a
                live count of the events in the log fed by `/v1/live`. No script, style or font is fetched
                from elsewhere.
              parameters:
                - name: platform
                  in: query
                  required: false
                  description: The platform shown (default the first known).
                  schema:
                    type: string
              responses:
                '200':
                  description: The page.
                  content:
                    text/html:
                      schema:
                        type: string
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '404':
                  $ref: '#/components/responses/NotFound'
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /v1/live:
            get:
              tags: [queries]
              operationId: live
              summary: The head of the log, live (Server-Sent Events)
              description: |
                `event: head` with `{"head": N}` each time the head moves (at most four a second), and a
                `: heartbeat` comment when idle: the count of events in the log, without their content, for
                the dashboard's live counter.
              responses:
                '200':
                  description: The stream (never-ending).
                  content:
                    text/event-stream:
                      schema:
                        type: string
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
          /livez:
            get:
              security: []
              tags: [operations]
              operationId: liveness
              summary: Liveness
              description: 200 `ok` while the process serves HTTP.
              responses:
                '200':
                  description: Alive.
                  content:
                    text/plain:
                      schema:
                        type: string
                        const: "ok\n"
          /readyz:
            get:
              security: []
              tags: [operations]
              operationId: readiness
              summary: Readiness
              description: >-
                200 when queries can be answered: the read model lags the log's head by at most one catch-up
                chunk. 503 (a plain-text reason, no `Retry-After`) while it catches up after a start on a large
                ledger, when the ledger cannot be read, or (`--replication-mode sync`) while the replica in
                PostgreSQL cannot be reached. Appends and log reads work meanwhile (not with synchronous
                replication, whose appends wait for the replica).
              responses:
                '200':
                  description: 'Ready, e.g. `ready: head 21067, read model at 21067`.'
                  content:
                    text/plain:
                      schema:
                        type: string
                        pattern: '^ready: head [0-9]+, read model at [0-9]+\n$'
                '503':
                  description: 'Not ready, e.g. `catching up: the read model is at position 0 of 2000000`.'
                  content:
                    text/plain:
                      schema:
                        type: string
          /metrics:
            get:
              tags: [operations]
              operationId: metrics
              summary: Prometheus metrics
              description: |
                The Prometheus text exposition format (`text/plain; version=0.0.4; charset=utf-8`). Metrics:
                `ledgerd_events_appended_total`, `ledgerd_events_duplicate_total`,
                `ledgerd_append_batch_events` (histogram), `ledgerd_append_duration_seconds` (histogram),
                `ledgerd_appends_refused_total{problem}`, `ledgerd_group_commits`, `ledgerd_head_position`,
                `ledgerd_subscribers`, `ledgerd_subscriber_lag_events`, `ledgerd_subscribers_closed_slow_total`,
                `ledgerd_read_model_events_folded_total`, `ledgerd_read_model_catch_up_duration_seconds`,
                `ledgerd_map_size_bytes`, `ledgerd_file_size_bytes`, and Hummingbird's HTTP request metrics.
              responses:
                '401':
                  $ref: '#/components/responses/Unauthenticated'
                '403':
                  $ref: '#/components/responses/Forbidden'
                '200':
                  description: The metrics.
                  content:
                    text/plain:
                      schema:
                        type: string
                '500':
                  $ref: '#/components/responses/ServerError'
                '503':
                  $ref: '#/components/responses/Unavailable'
          /openapi.yaml:
            get:
              security: []
              tags: [operations]
              operationId: openAPIDocument
              summary: This document
              responses:
                '200':
                  description: This OpenAPI document (docs/openapi.yaml), as YAML.
                  content:
                    application/yaml:
                      schema:
                        type: object
                        description: An OpenAPI 3.1 document.
                        required: [openapi, info, paths, components]
                        properties:
                          openapi:
                            const: 3.1.0
                          info:
                            type: object
                            required: [title, version]
                          paths:
                            type: object
                            required: [/v1/events, '/v1/streams/{stream}/events', /v1/subscribe, '/v1/cases/{case}', /v1/stats,
                              /v1/reports/closure, /livez, /readyz, /metrics, /openapi.yaml]
                          components:
                            type: object
        components:
          parameters:
            limit:
              name: limit
              in: query
              description: >-
                The most events in the page: 1 to 1000 (`ledgerd --max-page-size`, 1000 by default); default
                100 (`--page-size`). Over the maximum is 400.
              schema:
                type: integer
                minimum: 1
                maximum: 1000
                default: 100
            type:
              name: type
              in: query
              description: >-
                Only events of these types (repeat it, `type=CallPlaced&type=SMSSent`, or separate with commas,
                `type=CallPlaced,SMSSent`). Empty values are ignored; an unknown type matches nothing.
              style: form
              explode: true
              schema:
                type: array
                items:
                  type: string
              examples:
                calls:
                  value: [CallPlaced]
            platform:
              name: platform
              in: query
              description: >-
                Only events of these platforms (repeatable or comma-separated, like `type`). An unknown
                platform matches nothing.
              style: form
              explode: true
              schema:
                type: array
                items:
                  type: string
              examples:
                herault:
                  value: [cpam-34]
            stream:
              name: stream
              in: path
              required: true
              description: >-
                The stream id, e.g. `cpam-34/p0/1` or `platform/cpam-34`, sent percent-encoded
                (`cpam-34%2Fp0%2F1`) or as raw path segments (`/v1/streams/cpam-34/p0/1/events`). The last
                segment of the path must be `events`.
              schema:
                type: string
                minLength: 1
              examples:
                patientZero:
                  value: cpam-34/p0/1
          headers:
            Link:
              description: '`<NEXT>; rel="next"`, NEXT being the `next` member of the page.'
              schema:
                type: string
                pattern: '^<[^>]+>; rel="next"$'
            RetryAfter:
              description: Seconds to wait before a retry (always `1`).
              schema:
                type: string
                pattern: '^[0-9]+$'
          securitySchemes:
            clientCertificate:
              type: mutualTLS
              description: >-
                A client certificate issued by the server's CA (`ledgerctl credentials issue`), naming the
                principal (subject common name) and its role (organisational unit: platform, statistician or
                administrator).
          responses:
            Unauthenticated:
              description: >-
                No client certificate, one that names no role, or a revoked one (`unauthenticated`).
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            Forbidden:
              description: >-
                The principal's role may not do this, or the event, stream, case or platform is not its own
                (`forbidden`; an append's refusal names the event's `index` and `field`), or the service serves
                a read-only copy of a ledger and refuses appends (`read-only-copy`).
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            BadParameter:
              description: >-
                A query parameter, or the percent-encoding of a path id, cannot be used (`bad-parameter`;
                `parameter` names it).
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/BadParameterProblem'
            NotFound:
              description: No such stream, case or platform (`not-found`).
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            NotAcceptable:
              description: No representation of the resource matches `Accept` (`not-acceptable`).
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            ServerError:
              description: >-
                The ledger or its projections failed an integrity check (`integrity`), or the service failed
                (`internal`). Not expected: report it.
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            Unavailable:
              description: >-
                The read model is catching up with the log (`catching-up`, with `position` and `head`), the
                ledger cannot serve now (`ledger-unavailable`), or, for an append with synchronous replication,
                the replica cannot confirm it (`replica-unavailable`, with `written`; docs/operations.md). Retry
                after `Retry-After` seconds.
              headers:
                Retry-After:
                  $ref: '#/components/headers/RetryAfter'
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            ObjectBodyTooLarge:
              description: The body is over 64 KiB (`body-too-large`); nothing was done.
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
            NotJSONObject:
              description: The body's `Content-Type` is not `application/json` (`unsupported-media-type`); nothing was done.
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
          schemas:
            # ---------------------------------------------------------------- problems
            Problem:
              title: Problem
              description: >-
                An error (RFC 9457). `type` names the problem (`tag:tracing-ledger,2026:problem/NAME`, see the
                table in the introduction); `title` is the same for every occurrence of a type (except
                `not-found`: "No such stream", "No such case", ...); `detail` says what happened to this
                request. The other members appear with the problems that have them.
              type: object
              additionalProperties: false
              required: [type, title, status, detail]
              properties:
                type:
                  type: string
                  pattern: '^tag:tracing-ledger,2026:problem/[a-z-]+$'
                  examples: ['tag:tracing-ledger,2026:problem/invalid-event']
                title:
                  type: string
                status:
                  type: integer
                  minimum: 400
                  maximum: 599
                  description: The HTTP status of the response.
                detail:
                  type: string
                errors:
                  type: array
                  description: '`malformed-json`, `invalid-event`: the events that cannot be accepted (at most 20).'
                  minItems: 1
                  maxItems: 20
                  items:
                    $ref: '#/components/schemas/BatchError'
                written:
                  type: boolean
                  description: >-
                    `replica-unavailable`: whether the batch is already in the ledger (not acknowledged: retry
                    it as is, with the same ids) or was refused before anything was written.
                stream:
                  type: string
                  description: '`version-conflict`: the stream.'
                expected:
                  description: '`version-conflict`: the `expectedVersion` given.'
                  oneOf:
                    - type: integer
                      minimum: 0
                    - type: string
                      enum: [noStream, any]
                actual:
                  description: '`version-conflict`: the stream''s version; `null` when the stream does not exist.'
                  type: [integer, 'null']
                  minimum: 0
                index:
                  description: >-
                    `version-conflict`, `idempotency-conflict`: the index (from 0) of the event of the batch
                    at fault; `null` when it cannot be told.
                  type: [integer, 'null']
                  minimum: 0
                id:
                  description: '`idempotency-conflict`: the event id.'
                  type: string
                  format: uuid
                position:
                  description: >-
                    `idempotency-conflict`: the position of the event already in the log with that id;
                    `catching-up`: the position the read model has reached.
                  type: integer
                  minimum: 0
                field:
                  description: '`idempotency-conflict`: the first envelope field that differs (`stream`, `type`, `platform`, `payload`, ...).'
                  type: string
                parameter:
                  description: '`bad-parameter`: the query parameter (or path id: `stream`, `case`) at fault.'
                  type: string
                limit:
                  description: '`body-too-large`: the largest body accepted, in bytes.'
                  type: integer
                  minimum: 1024
                head:
                  description: '`catching-up`: the log''s head position.'
                  type: integer
                  minimum: 0
              examples:
                - type: 'tag:tracing-ledger,2026:problem/bad-parameter'
                  title: A query parameter cannot be used
                  status: 400
                  detail: "parameter 'limit': 1001 is over the page size limit (1000)"
                  parameter: limit
            BatchError:
              title: BatchError
              description: One event of a batch that cannot be accepted.
              type: object
              additionalProperties: false
              required: [index, line, field, detail]
              properties:
                index:
                  type: integer
                  minimum: 0
                  description: The event's index in the batch, from 0 (0 for an error of the whole body).
                line:
                  type: [integer, 'null']
                  minimum: 1
                  description: The event's line in an NDJSON body, from 1; `null` for a JSON array.
                field:
                  type: string
                  description: >-
                    The field at fault: an envelope field (`id`, `stream`, `occurredAt`...), a payload field
                    (`data.outcome`, `data.identity.box`, `data.sites[2]`), `event` for the whole event, or
                    `body` for the whole body.
                detail:
                  type: string
                  description: >-
                    What is wrong, e.g. `"FAX" is not one of MOBILE, LANDLINE`. A value that holds personal
                    data is not repeated.
            BadParameterProblem:
              title: BadParameterProblem
              allOf:
                - $ref: '#/components/schemas/Problem'
                - type: object
                  required: [parameter]
                  properties:
                    type:
                      const: 'tag:tracing-ledger,2026:problem/bad-parameter'
                    status:
                      const: 400
            BatchProblem:
              title: BatchProblem
              description: '`malformed-json` (400) or `invalid-event` (422), with `errors`.'
              allOf:
                - $ref: '#/components/schemas/Problem'
                - type: object
                  required: [errors]
                  properties:
                    type:
                      enum:
                        - 'tag:tracing-ledger,2026:problem/malformed-json'
                        - 'tag:tracing-ledger,2026:problem/invalid-event'
              examples:
                - type: 'tag:tracing-ledger,2026:problem/invalid-event'
                  title: An event cannot be accepted
                  status: 422
                  detail: "event 0: field 'data.line': \"FAX\" is not one of MOBILE, LANDLINE; nothing of the batch was written"
                  errors:
                    - {index: 0, line: null, field: data.line, detail: '"FAX" is not one of MOBILE, LANDLINE'}
            VersionConflictProblem:
              title: VersionConflictProblem
              allOf:
                - $ref: '#/components/schemas/Problem'
                - type: object
                  required: [index, stream, expected, actual]
                  properties:
                    type:
                      const: 'tag:tracing-ledger,2026:problem/version-conflict'
                    status:
                      const: 409
              examples:
                - type: 'tag:tracing-ledger,2026:problem/version-conflict'
                  title: A stream's version was not the expected one
                  status: 409
                  detail: "concurrency conflict on stream 'test/x/1': expected version 5, actual 0; nothing of the batch was written"
                  index: 0
                  stream: test/x/1
                  expected: 5
                  actual: 0
            IdempotencyConflictProblem:
              title: IdempotencyConflictProblem
              allOf:
                - $ref: '#/components/schemas/Problem'
                - type: object
                  required: [index, id, position, field]
                  properties:
                    type:
                      const: 'tag:tracing-ledger,2026:problem/idempotency-conflict'
                    status:
                      const: 409
            BodyTooLargeProblem:
              title: BodyTooLargeProblem
              allOf:
                - $ref: '#/components/schemas/Problem'
                - type: object
                  required: [limit]
                  properties:
                    type:
                      const: 'tag:tracing-ledger,2026:problem/body-too-large'
                    status:
                      const: 413
            # ---------------------------------------------------------------- values
            Position:
              type: integer
              minimum: 1
              description: An event's position in the log, from 1.
            StreamVersion:
              type: integer
              minimum: 0
              description: An event's version within its stream, from 0.
            Uuid:
              type: string
              format: uuid
              pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              description: A UUID, written in lowercase.
            Timestamp:
              type: string
              format: date-time
              pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z$'
              description: An RFC 3339 UTC time as the ledger writes it, to the millisecond (`2020-05-12T09:30:00Z`, `2020-05-11T07:03:12.698Z`).
            TimestampIn:
              type: string
              anyOf:
                - format: date-time
                  pattern: '^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$'
                - format: date
                  pattern: '^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
              description: >-
                An RFC 3339 time with `Z` or an offset (`2020-05-12T09:30:00Z`, `2020-05-12T11:30:00+02:00`),
                or a bare date (`2020-05-12`, midnight UTC); years 1900 to 9999; kept to the millisecond.
            CivilDate:
              type: string
              format: date
              pattern: '^(19[0-9]{2}|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
              description: A real calendar date `YYYY-MM-DD`, year 1900 to 9999.
            Pseudonym:
              type: string
              pattern: '^[0-9a-f]{32}$'
              description: A person's pseudonym, 32 lowercase hexadecimal digits (docs/privacy.md); persons are never named.
            CaseId:
              type: string
              minLength: 1
              maxLength: 255
              pattern: '^[^\x00]+$'
              description: A stream (case) id, 1 to 255 UTF-8 bytes (in NFC), no NUL, e.g. `cpam-34/contact/12`.
            StreamId:
              type: string
              minLength: 1
              maxLength: 255
              pattern: '^[^\x00]+$'
              description: >-
                A stream id: a case (`cpam-34/p0/123`) or a platform stream (`platform/cpam-34`); 1 to 255
                UTF-8 bytes (in NFC), no NUL.
            PlatformId:
              type: string
              minLength: 1
              maxLength: 255
              pattern: '^[^\x00]+$'
              description: A platform id, e.g. `cpam-34`; 1 to 255 UTF-8 bytes (in NFC), no NUL.
            FreeText:
              type: string
              description: >-
                Free text about the case's handling (an agent's id, a template, a rule note), never about the
                person: a value holding what looks like a NIR or a French phone number is refused (422, see
                docs/events.md).
            UInt32:
              type: integer
              minimum: 0
              maximum: 4294967295
              description: A whole number written with digits only (`420`; `420.0`, `-5` and `"420"` are refused).
            SealedIdentity:
              title: SealedIdentity
              description: A sealed identity (AES-GCM box, base64) and the version of the key that sealed it.
              type: object
              additionalProperties: false
              properties:
                box:
                  type: string
                  contentEncoding: base64
                  pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'
                keyVersion:
                  $ref: '#/components/schemas/UInt32'
            EventType:
              type: string
              description: An event type of the catalog (docs/events.md, "Messages").
              enum: [PlatformOpened, PolicyChanged, PlatformClosed, CaseHandedOver, PositiveTestReported, CaseOpened,
                ContactDeclared, IsolationPrescribed, WorkStoppageIssued, NurseVisitRequested, SocialSupportRequested,
                ClusterReported, CaseClosed, CallPlaced, SMSSent, SMSDeliveryReported, LetterSent, TeleserviceSubmitted,
                IdentityConsulted]
            # ---------------------------------------------------------------- events
            Batch:
              title: Batch
              description: A batch of events to append, in order, all or nothing (an empty batch is 422).
              type: array
              minItems: 1
              items:
                $ref: '#/components/schemas/NewEvent'
            NewEventEnvelope:
              title: NewEventEnvelope
              description: >-
                An event to append, in the JSON form of docs/events.md. Each key may appear once (a repeated
                key is refused, not "last one wins"); unknown keys are refused.
              type: object
              additionalProperties: false
              required: [id, stream, type, platform, occurredAt]
              properties:
                id:
                  type: string
                  format: uuid
                  description: The event's id (UUID, any case), its idempotency key. Give each new event a fresh one; reuse it on retries.
                stream:
                  $ref: '#/components/schemas/StreamId'
                type:
                  $ref: '#/components/schemas/EventType'
                platform:
                  $ref: '#/components/schemas/PlatformId'
                occurredAt:
                  $ref: '#/components/schemas/TimestampIn'
                recordedAt:
                  allOf:
                    - $ref: '#/components/schemas/TimestampIn'
                  description: When the fact was recorded; default the time of the append.
                schemaVersion:
                  type: integer
                  const: 1
                  description: The payload's schema version; must be this build's current version of the type (1 for every type today).
                  default: 1
                expectedVersion:
                  description: >-
                    `"any"` (default: no check), `"noStream"` (the stream must not exist yet), or the stream's
                    current version (the `streamVersion` of its last event), written with digits only (`2`,
                    not `2.0`). Checked atomically with the append; a mismatch is 409 for the whole batch.
                  default: any
                  oneOf:
                    - type: string
                      enum: [any, noStream]
                    - type: integer
                      minimum: 0
                      maximum: 8999999999999999999
                data:
                  type: object
                  description: The payload of `type` (protobuf JSON mapping, lowerCamelCase names); default `{}`.
                position:
                  type: integer
                  description: Written by `ledgerctl export`; ignored.
                streamVersion:
                  type: integer
                  description: Written by `ledgerctl export`; ignored.
                hash:
                  type: string
                  description: Ignored.
            NewEvent:
              title: NewEvent
              description: An event to append; `data` as the schema of its `type` says.
              oneOf:
                - $ref: '#/components/schemas/PlatformOpenedNewEvent'
                - $ref: '#/components/schemas/PolicyChangedNewEvent'
                - $ref: '#/components/schemas/PlatformClosedNewEvent'
                - $ref: '#/components/schemas/CaseHandedOverNewEvent'
                - $ref: '#/components/schemas/PositiveTestReportedNewEvent'
                - $ref: '#/components/schemas/CaseOpenedNewEvent'
                - $ref: '#/components/schemas/ContactDeclaredNewEvent'
                - $ref: '#/components/schemas/IsolationPrescribedNewEvent'
                - $ref: '#/components/schemas/WorkStoppageIssuedNewEvent'
                - $ref: '#/components/schemas/NurseVisitRequestedNewEvent'
                - $ref: '#/components/schemas/SocialSupportRequestedNewEvent'
                - $ref: '#/components/schemas/ClusterReportedNewEvent'
                - $ref: '#/components/schemas/CaseClosedNewEvent'
                - $ref: '#/components/schemas/CallPlacedNewEvent'
                - $ref: '#/components/schemas/SMSSentNewEvent'
                - $ref: '#/components/schemas/SMSDeliveryReportedNewEvent'
                - $ref: '#/components/schemas/LetterSentNewEvent'
                - $ref: '#/components/schemas/TeleserviceSubmittedNewEvent'
                - $ref: '#/components/schemas/IdentityConsultedNewEvent'
              discriminator:
                propertyName: type
                mapping:
                  PlatformOpened: '#/components/schemas/PlatformOpenedNewEvent'
                  PolicyChanged: '#/components/schemas/PolicyChangedNewEvent'
                  PlatformClosed: '#/components/schemas/PlatformClosedNewEvent'
                  CaseHandedOver: '#/components/schemas/CaseHandedOverNewEvent'
                  PositiveTestReported: '#/components/schemas/PositiveTestReportedNewEvent'
                  CaseOpened: '#/components/schemas/CaseOpenedNewEvent'
                  ContactDeclared: '#/components/schemas/ContactDeclaredNewEvent'
                  IsolationPrescribed: '#/components/schemas/IsolationPrescribedNewEvent'
                  WorkStoppageIssued: '#/components/schemas/WorkStoppageIssuedNewEvent'
                  NurseVisitRequested: '#/components/schemas/NurseVisitRequestedNewEvent'
                  SocialSupportRequested: '#/components/schemas/SocialSupportRequestedNewEvent'
                  ClusterReported: '#/components/schemas/ClusterReportedNewEvent'
                  CaseClosed: '#/components/schemas/CaseClosedNewEvent'
                  CallPlaced: '#/components/schemas/CallPlacedNewEvent'
                  SMSSent: '#/components/schemas/SMSSentNewEvent'
                  SMSDeliveryReported: '#/components/schemas/SMSDeliveryReportedNewEvent'
                  LetterSent: '#/components/schemas/LetterSentNewEvent'
                  TeleserviceSubmitted: '#/components/schemas/TeleserviceSubmittedNewEvent'
                  IdentityConsulted: '#/components/schemas/IdentityConsultedNewEvent'
            EventEnvelope:
              title: EventEnvelope
              description: A stored event, in the JSON form of docs/events.md, with its place in the log.
              type: object
              additionalProperties: false
              required: [position, id, stream, streamVersion, type, platform, occurredAt, recordedAt, schemaVersion, data]
              properties:
                position:
                  $ref: '#/components/schemas/Position'
                id:
                  $ref: '#/components/schemas/Uuid'
                stream:
                  $ref: '#/components/schemas/StreamId'
                streamVersion:
                  $ref: '#/components/schemas/StreamVersion'
                type:
                  $ref: '#/components/schemas/EventType'
                platform:
                  $ref: '#/components/schemas/PlatformId'
                occurredAt:
                  allOf:
                    - $ref: '#/components/schemas/Timestamp'
                  description: The time of the fact (UTC).
                recordedAt:
                  allOf:
                    - $ref: '#/components/schemas/Timestamp'
                  description: When it was recorded (UTC).
                schemaVersion:
                  type: integer
                  minimum: 1
                  maximum: 65535
                data:
                  type: object
                  description: The payload of `type`.
            Event:
              title: Event
              description: A stored event; `data` as the schema of its `type` says.
              oneOf:
                - $ref: '#/components/schemas/PlatformOpenedEvent'
                - $ref: '#/components/schemas/PolicyChangedEvent'
                - $ref: '#/components/schemas/PlatformClosedEvent'
                - $ref: '#/components/schemas/CaseHandedOverEvent'
                - $ref: '#/components/schemas/PositiveTestReportedEvent'
                - $ref: '#/components/schemas/CaseOpenedEvent'
                - $ref: '#/components/schemas/ContactDeclaredEvent'
                - $ref: '#/components/schemas/IsolationPrescribedEvent'
                - $ref: '#/components/schemas/WorkStoppageIssuedEvent'
                - $ref: '#/components/schemas/NurseVisitRequestedEvent'
                - $ref: '#/components/schemas/SocialSupportRequestedEvent'
                - $ref: '#/components/schemas/ClusterReportedEvent'
                - $ref: '#/components/schemas/CaseClosedEvent'
                - $ref: '#/components/schemas/CallPlacedEvent'
                - $ref: '#/components/schemas/SMSSentEvent'
                - $ref: '#/components/schemas/SMSDeliveryReportedEvent'
                - $ref: '#/components/schemas/LetterSentEvent'
                - $ref: '#/components/schemas/TeleserviceSubmittedEvent'
                - $ref: '#/components/schemas/IdentityConsultedEvent'
              discriminator:
                propertyName: type
                mapping:
                  PlatformOpened: '#/components/schemas/PlatformOpenedEvent'
                  PolicyChanged: '#/components/schemas/PolicyChangedEvent'
                  PlatformClosed: '#/components/schemas/PlatformClosedEvent'
                  CaseHandedOver: '#/components/schemas/CaseHandedOverEvent'
                  PositiveTestReported: '#/components/schemas/PositiveTestReportedEvent'
                  CaseOpened: '#/components/schemas/CaseOpenedEvent'
                  ContactDeclared: '#/components/schemas/ContactDeclaredEvent'
                  IsolationPrescribed: '#/components/schemas/IsolationPrescribedEvent'
                  WorkStoppageIssued: '#/components/schemas/WorkStoppageIssuedEvent'
                  NurseVisitRequested: '#/components/schemas/NurseVisitRequestedEvent'
                  SocialSupportRequested: '#/components/schemas/SocialSupportRequestedEvent'
                  ClusterReported: '#/components/schemas/ClusterReportedEvent'
                  CaseClosed: '#/components/schemas/CaseClosedEvent'
                  CallPlaced: '#/components/schemas/CallPlacedEvent'
                  SMSSent: '#/components/schemas/SMSSentEvent'
                  SMSDeliveryReported: '#/components/schemas/SMSDeliveryReportedEvent'
                  LetterSent: '#/components/schemas/LetterSentEvent'
                  TeleserviceSubmitted: '#/components/schemas/TeleserviceSubmittedEvent'
                  IdentityConsulted: '#/components/schemas/IdentityConsultedEvent'
            AppendReply:
              title: AppendReply
              description: The outcome of a batch, every event of which is now durable in the log.
              type: object
              additionalProperties: false
              required: [head, appended, duplicates, events]
              properties:
                head:
                  type: integer
                  minimum: 1
                  description: The log's head position after the append (at least the highest position of the batch).
                appended:
                  type: integer
                  minimum: 0
                  description: Events written by this request.
                duplicates:
                  type: integer
                  minimum: 0
                  description: Events that were already in the log (retries).
                events:
                  type: array
                  description: One entry per event of the batch, in the order of the batch.
                  minItems: 1
                  items:
                    $ref: '#/components/schemas/AppendedEvent'
              examples:
                - head: 21068
                  appended: 1
                  duplicates: 0
                  events:
                    - {index: 0, id: 6f1c2a8e-0b7d-4c1e-9a55-2f0e4b9d3c11, stream: cpam-34/p0/1, position: 21068, streamVersion: 6, status: appended}
            AppendedEvent:
              title: AppendedEvent
              type: object
              additionalProperties: false
              required: [index, id, stream, position, streamVersion, status]
              properties:
                index:
                  type: integer
                  minimum: 0
                  description: The event's index in the batch.
                id:
                  $ref: '#/components/schemas/Uuid'
                stream:
                  $ref: '#/components/schemas/StreamId'
                position:
                  $ref: '#/components/schemas/Position'
                streamVersion:
                  $ref: '#/components/schemas/StreamVersion'
                status:
                  type: string
                  enum: [appended, duplicate]
                  description: '`appended` now, or `duplicate`: already in the log (its original position and version).'
            EventPage:
              title: EventPage
              type: object
              additionalProperties: false
              required: [events, next, head]
              properties:
                events:
                  type: array
                  maxItems: 1000
                  items:
                    $ref: '#/components/schemas/Event'
                next:
                  type: string
                  description: >-
                    The path and query of the next page (`/v1/events?from=N&limit=L`, with the filter),
                    relative to the server's base URL.
                  pattern: '^/v1/events\?from=[0-9]+&limit=[0-9]+'
                head:
                  type: integer
                  minimum: 0
                  description: The log's head position when the page was read.
            StreamPage:
              title: StreamPage
              type: object
              additionalProperties: false
              required: [stream, version, events, next, head]
              properties:
                stream:
                  $ref: '#/components/schemas/StreamId'
                version:
                  $ref: '#/components/schemas/StreamVersion'
                events:
                  type: array
                  maxItems: 1000
                  items:
                    $ref: '#/components/schemas/Event'
                next:
                  type: string
                  description: >-
                    The path and query of the next page (`/v1/streams/ID/events?from=V&limit=L`, the id
                    percent-encoded), relative to the server's base URL.
                  pattern: '^/v1/streams/[^/]+/events\?from=[0-9]+&limit=[0-9]+$'
                head:
                  type: integer
                  minimum: 0
                  description: The log's head position when the page was read.
            CaughtUp:
              title: CaughtUp
              description: The `data` of the SSE `caught-up` event.
              type: object
              additionalProperties: false
              required: [position]
              properties:
                position:
                  type: integer
                  minimum: 0
                  description: The head position the subscriber has caught up with.
            Closed:
              title: Closed
              description: The `data` of the SSE `closed` event, sent to a client too slow before the response ends.
              type: object
              additionalProperties: false
              required: [reason, lastEventId]
              properties:
                reason:
                  type: string
                lastEventId:
                  type: [integer, 'null']
                  description: The id to resume from with `Last-Event-ID` (`null`; nothing was sent yet).
            ServerSentEvent:
              title: ServerSentEvent
              description: >-
                One event of `/v1/subscribe` as an SSE client delivers it: `event` (the SSE event type,
                `message` when the stream gives none), `data` (JSON text) and `id` (the last `id:` seen, which
                SSE clients carry over to the events without one).
              oneOf:
                - title: LogEvent
                  description: An event of the log; `id` is its position.
                  type: object
                  required: [event, data, id]
                  properties:
                    event:
                      const: message
                    id:
                      type: string
                      pattern: '^[0-9]+$'
                    data:
                      type: string
                      contentMediaType: application/json
                      contentSchema:
                        $ref: '#/components/schemas/Event'
                    retry:
                      type: integer
                - title: CaughtUpEvent
                  description: Sent once, when the subscriber has every event up to the head.
                  type: object
                  required: [event, data]
                  properties:
                    event:
                      const: caught-up
                    id:
                      type: string
                      pattern: '^[0-9]+$'
                    data:
                      type: string
                      contentMediaType: application/json
                      contentSchema:
                        $ref: '#/components/schemas/CaughtUp'
                    retry:
                      type: integer
                - title: ClosedEvent
                  description: Sent to a client too slow, just before the response ends.
                  type: object
                  required: [event, data]
                  properties:
                    event:
                      const: closed
                    id:
                      type: string
                      pattern: '^[0-9]+$'
                    data:
                      type: string
                      contentMediaType: application/json
                      contentSchema:
                        $ref: '#/components/schemas/Closed'
                    retry:
                      type: integer
            # ---------------------------------------------------------------- cases
            CaseDocument:
              title: CaseDocument
              type: object
              additionalProperties: false
              required: [case, platform, person, events, state, timeline]
              properties:
                case:
                  $ref: '#/components/schemas/StreamId'
                platform:
                  type: [string, 'null']
                  description: The platform of the case's person record, else of its first event.
                person:
                  type: [string, 'null']
                  pattern: '^[0-9a-f]{32}$'
                  description: The person's pseudonym; `null` when no event names one.
                events:
                  type: integer
                  minimum: 1
                  description: The number of events of the stream.
                state:
                  oneOf:
                    - $ref: '#/components/schemas/CaseState'
                    - type: 'null'
                  description: The case's state; `null` for a stream that is not a case (a platform stream).
                timeline:
                  type: array
                  items:
                    $ref: '#/components/schemas/TimelineEntry'
            TimelineEntry:
              title: TimelineEntry
              type: object
              additionalProperties: false
              required: [position, streamVersion, type, occurredAt, recordedAt]
              properties:
                position:
                  $ref: '#/components/schemas/Position'
                streamVersion:
                  $ref: '#/components/schemas/StreamVersion'
                type:
                  $ref: '#/components/schemas/EventType'
                occurredAt:
                  $ref: '#/components/schemas/Timestamp'
                recordedAt:
                  $ref: '#/components/schemas/Timestamp'
            CaseState:
              title: CaseState
              description: >-
                The state of one case folded from its events (keys sorted; members without a value are left
                out). Times are fact times; where the first of something matters, the earliest fact wins.
              type: object
              additionalProperties: false
              required: [id, person, platform, platformFromOpening, status, attempts, contacts, workStoppage, nurseVisit, socialSupport]
              properties:
                id:
                  type: string
                  description: The case id.
                person:
                  type: string
                  description: The person's pseudonym (empty when no event named one).
                role:
                  type: string
                  enum: [patientZero, contact, coExposed]
                platform:
                  type: string
                  description: The platform the case counts on (the one that opened it).
                platformFactAt:
                  $ref: '#/components/schemas/Timestamp'
                platformFromOpening:
                  type: boolean
                status:
                  type: string
                  enum: [toReach, reached, isolating, closed]
                openedAt:
                  $ref: '#/components/schemas/Timestamp'
                labResultAt:
                  $ref: '#/components/schemas/Timestamp'
                declaredAt:
                  $ref: '#/components/schemas/Timestamp'
                attempts:
                  title: ChannelAttempts
                  type: object
                  additionalProperties: false
                  required: [outboundCalls, inboundCalls, landlineCalls, sms, letters, teleservice]
                  properties:
                    outboundCalls: {type: integer, minimum: 0}
                    inboundCalls: {type: integer, minimum: 0}
                    landlineCalls: {type: integer, minimum: 0}
                    sms: {type: integer, minimum: 0}
                    letters: {type: integer, minimum: 0}
                    teleservice: {type: integer, minimum: 0}
                firstReachAt:
                  $ref: '#/components/schemas/Timestamp'
                firstCallReachAt:
                  $ref: '#/components/schemas/Timestamp'
                firstNotifiedAt:
                  $ref: '#/components/schemas/Timestamp'
                patientZeroCase:
                  type: string
                contacts:
                  type: array
                  items:
                    type: string
                  description: For a patient zéro, the contact cases declared, in order, without repeats.
                isolation:
                  type: object
                  additionalProperties: false
                  required: [start, end, ruleVersion]
                  properties:
                    start: {type: string, description: 'First day, `YYYY-MM-DD` (empty when not given).'}
                    end: {type: string, description: 'Last day, `YYYY-MM-DD` (empty when not given).'}
                    ruleVersion: {type: string}
                workStoppage:
                  type: boolean
                nurseVisit:
                  type: boolean
                socialSupport:
                  type: boolean
                closureReason:
                  type: string
                  enum: [isolationCompleted, unreachable, refused, handedOver, platformClosed, duplicate, unspecified]
                closedAt:
                  $ref: '#/components/schemas/Timestamp'
                handedOverTo:
                  type: string
            # ---------------------------------------------------------------- statistics
            Statistics:
              title: Statistics
              type: object
              additionalProperties: false
              required: [by, asOf, rows]
              properties:
                by:
                  type: string
                  enum: [day, week, month]
                asOf:
                  type: [string, 'null']
                  format: date
                  description: The `asOf` date asked for, or `null`.
                rows:
                  type: array
                  items:
                    $ref: '#/components/schemas/StatisticsRow'
            StatisticsRow:
              title: StatisticsRow
              description: >-
                One platform and period (docs/statistics.md, "Columns"; keys sorted). Counts are integers;
                shares (0 to 1) and means are rounded to four decimals; a share without a denominator is
                `null`.
              type: object
              additionalProperties: false
              required: [platform, period, periodStart, patientsZero, contacts, followed, outboundCalls, outboundReached,
                reachedRate, inboundCalls, landlineCalls, sms, letters, teleservice, p0ReachedWithin24hShare,
                contactsNotifiedWithin24hShare, contactsPerP0Mean, contactsPerP0Median, p0NoContactShare,
                digitalOnlyShare, medianDelayHours, contactsLaterPositive]
              properties:
                platform:
                  type: string
                  description: The platform, or `all` for the merged total.
                period:
                  type: string
                  description: '`2021-03-01` (day), `2021-W09` (ISO week), `2021-03` (month).'
                  pattern: '^[0-9]{4}-([0-9]{2}(-[0-9]{2})?|W[0-9]{2})$'
                periodStart:
                  $ref: '#/components/schemas/CivilDate'
                patientsZero: {type: integer, minimum: 0, description: P0 cases opened in the period.}
                contacts: {type: integer, minimum: 0, description: Contact and co-exposed cases opened in the period.}
                followed: {type: integer, minimum: 0, description: patientsZero + contacts.}
                outboundCalls: {type: integer, minimum: 0}
                outboundReached: {type: integer, minimum: 0}
                reachedRate: {type: [number, 'null'], minimum: 0, maximum: 1, description: outboundReached / outboundCalls.}
                inboundCalls: {type: integer, minimum: 0}
                landlineCalls: {type: integer, minimum: 0}
                sms: {type: integer, minimum: 0}
                letters: {type: integer, minimum: 0}
                teleservice: {type: integer, minimum: 0}
                p0ReachedWithin24hShare: {type: [number, 'null'], minimum: 0, maximum: 1}
                contactsNotifiedWithin24hShare: {type: [number, 'null'], minimum: 0, maximum: 1}
                contactsPerP0Mean: {type: [number, 'null'], minimum: 0}
                contactsPerP0Median: {type: [number, 'null'], minimum: 0}
                p0NoContactShare: {type: [number, 'null'], minimum: 0, maximum: 1}
                digitalOnlyShare: {type: [number, 'null'], minimum: 0, maximum: 1}
                medianDelayHours: {type: [number, 'null'], minimum: 0}
                contactsLaterPositive: {type: integer, minimum: 0}
            # ---------------------------------------------------------------- reports
            ClosureReport:
              title: ClosureReport
              description: The closure report (keys sorted; `closedOn` and `handoverTo` are left out when unknown).
              type: object
              additionalProperties: false
              required: [platform, platformName, followed, patientsZero, contacts, timeline, channelMix, openCases, seal]
              properties:
                platform:
                  type: string
                platformName:
                  type: string
                closedOn:
                  type: string
                  description: The closing date `YYYY-MM-DD`; absent while the platform is open.
                handoverTo:
                  type: string
                  description: The platform taking over.
                followed:
                  type: integer
                  minimum: 0
                  description: Insured followed (patientsZero + contacts).
                patientsZero:
                  type: integer
                  minimum: 0
                contacts:
                  type: integer
                  minimum: 0
                timeline:
                  type: array
                  items:
                    type: object
                    additionalProperties: false
                    required: [week, patientsZero, contacts]
                    properties:
                      week: {type: string, pattern: '^[0-9]{4}-W[0-9]{2}$'}
                      patientsZero: {type: integer, minimum: 0}
                      contacts: {type: integer, minimum: 0}
                channelMix:
                  type: array
                  items:
                    type: object
                    additionalProperties: false
                    required: [month, outboundCalls, inboundCalls, sms, letters, teleservice]
                    properties:
                      month: {type: string, pattern: '^[0-9]{4}-[0-9]{2}$'}
                      outboundCalls: {type: integer, minimum: 0}
                      inboundCalls: {type: integer, minimum: 0}
                      sms: {type: integer, minimum: 0}
                      letters: {type: integer, minimum: 0}
                      teleservice: {type: integer, minimum: 0}
                openCases:
                  type: array
                  description: Cases not closed, or handed over, at closure, sorted by id.
                  items:
                    type: object
                    additionalProperties: false
                    required: [id, status]
                    properties:
                      id: {type: string}
                      role: {type: string, enum: [patientZero, contact, coExposed]}
                      status: {type: string, enum: [toReach, reached, isolating, closed]}
                      handedOverTo: {type: string}
                seal:
                  type: object
                  additionalProperties: false
                  required: [events, firstPosition, lastPosition, headHash]
                  description: The history the report covers, for `ledgerctl verify --report`.
                  properties:
                    events: {type: integer, minimum: 0}
                    firstPosition: {type: integer, minimum: 0}
                    lastPosition: {type: integer, minimum: 0}
                    headHash: {type: string, pattern: '^[0-9a-f]{64}$'}
            # ---------------------------------------------------------------- enumerations
            TestKind:
              type: string
              description: The TestKind enumeration, by name.
              enum: [RT_PCR, ANTIGEN]
            TestKindIn:
              description: 'The TestKind enumeration: a name, or its number (1 RT_PCR, 2 ANTIGEN).'
              enum: [RT_PCR, ANTIGEN, 1, 2]
            CaseRole:
              type: string
              description: The CaseRole enumeration, by name.
              enum: [PATIENT_ZERO, CONTACT, CO_EXPOSED]
            CaseRoleIn:
              description: 'The CaseRole enumeration: a name, or its number (1 PATIENT_ZERO, 2 CONTACT, 3 CO_EXPOSED).'
              enum: [PATIENT_ZERO, CONTACT, CO_EXPOSED, 1, 2, 3]
            CaseSource:
              type: string
              description: The CaseSource enumeration, by name.
              enum: [LAB_FEED, DECLARED_BY_PATIENT_ZERO, INBOUND_CALL, TELESERVICE, DOCTOR]
            CaseSourceIn:
              description: 'The CaseSource enumeration: a name, or its number (1 LAB_FEED, 2 DECLARED_BY_PATIENT_ZERO, 3 INBOUND_CALL, 4 TELESERVICE, 5 DOCTOR).'
              enum: [LAB_FEED, DECLARED_BY_PATIENT_ZERO, INBOUND_CALL, TELESERVICE, DOCTOR, 1, 2, 3, 4, 5]
            ExposureSetting:
              type: string
              description: The ExposureSetting enumeration, by name.
              enum: [HOUSEHOLD, WORK, SCHOOL, CARE, OTHER]
            ExposureSettingIn:
              description: 'The ExposureSetting enumeration: a name, or its number (1 HOUSEHOLD, 2 WORK, 3 SCHOOL, 4 CARE, 5 OTHER).'
              enum: [HOUSEHOLD, WORK, SCHOOL, CARE, OTHER, 1, 2, 3, 4, 5]
            ClosureReason:
              type: string
              description: The ClosureReason enumeration, by name.
              enum: [ISOLATION_COMPLETED, UNREACHABLE, REFUSED, HANDED_OVER, PLATFORM_CLOSED, DUPLICATE]
            ClosureReasonIn:
              description: 'The ClosureReason enumeration: a name, or its number (1 ISOLATION_COMPLETED, 2 UNREACHABLE, 3 REFUSED, 4 HANDED_OVER, 5 PLATFORM_CLOSED, 6 DUPLICATE).'
              enum: [ISOLATION_COMPLETED, UNREACHABLE, REFUSED, HANDED_OVER, PLATFORM_CLOSED, DUPLICATE, 1, 2, 3, 4, 5, 6]
            CallDirection:
              type: string
              description: The CallDirection enumeration, by name.
              enum: [OUTBOUND, INBOUND]
            CallDirectionIn:
              description: 'The CallDirection enumeration: a name, or its number (1 OUTBOUND, 2 INBOUND).'
              enum: [OUTBOUND, INBOUND, 1, 2]
            LineKind:
              type: string
              description: The LineKind enumeration, by name.
              enum: [MOBILE, LANDLINE]
            LineKindIn:
              description: 'The LineKind enumeration: a name, or its number (1 MOBILE, 2 LANDLINE).'
              enum: [MOBILE, LANDLINE, 1, 2]
            CallOutcome:
              type: string
              description: The CallOutcome enumeration, by name.
              enum: [REACHED, NO_ANSWER, VOICEMAIL, WRONG_NUMBER, CALL_REFUSED]
            CallOutcomeIn:
              description: 'The CallOutcome enumeration: a name, or its number (1 REACHED, 2 NO_ANSWER, 3 VOICEMAIL, 4 WRONG_NUMBER, 5 CALL_REFUSED).'
              enum: [REACHED, NO_ANSWER, VOICEMAIL, WRONG_NUMBER, CALL_REFUSED, 1, 2, 3, 4, 5]
            # ---------------------------------------------------------------- payloads
            PlatformOpenedDataIn:
              title: PlatformOpenedDataIn
              description: >-
                `data` of a PlatformOpened to append. Ouverture de la plateforme (platform stream).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                name:
                  $ref: '#/components/schemas/FreeText'
                sites:
                  type: array
                  items:
                    $ref: '#/components/schemas/FreeText'
                openedOn:
                  $ref: '#/components/schemas/CivilDate'
            PolicyChangedDataIn:
              title: PolicyChangedDataIn
              description: >-
                `data` of a PolicyChanged to append. Changement de doctrine (platform stream).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                ruleVersion:
                  $ref: '#/components/schemas/FreeText'
                effectiveOn:
                  $ref: '#/components/schemas/CivilDate'
                isolationDaysPatientZero:
                  $ref: '#/components/schemas/UInt32'
                isolationDaysContact:
                  $ref: '#/components/schemas/UInt32'
                contactIsolationRequired:
                  type: boolean
                outboundCallsStopped:
                  type: boolean
                landlineCallsStopped:
                  type: boolean
                contactNotificationDigitalOnly:
                  type: boolean
                note:
                  $ref: '#/components/schemas/FreeText'
            PlatformClosedDataIn:
              title: PlatformClosedDataIn
              description: >-
                `data` of a PlatformClosed to append. Fermeture de la plateforme (platform stream).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                closedOn:
                  $ref: '#/components/schemas/CivilDate'
                handoverTo:
                  $ref: '#/components/schemas/FreeText'
            CaseHandedOverDataIn:
              title: CaseHandedOverDataIn
              description: >-
                `data` of a CaseHandedOver to append. Transfert du dossier to another platform (case stream).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              required: [toPlatform]
              properties:
                toPlatform:
                  $ref: '#/components/schemas/FreeText'
            PositiveTestReportedDataIn:
              title: PositiveTestReportedDataIn
              description: >-
                `data` of a PositiveTestReported to append. Résultat positif (SI-DEP), opens a patient zéro case. `resultDate` may not be before `sampleDate`.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              required: [person]
              properties:
                person:
                  $ref: '#/components/schemas/Pseudonym'
                sampleDate:
                  $ref: '#/components/schemas/CivilDate'
                resultDate:
                  $ref: '#/components/schemas/CivilDate'
                kind:
                  $ref: '#/components/schemas/TestKindIn'
                symptomOnset:
                  $ref: '#/components/schemas/CivilDate'
                identity:
                  $ref: '#/components/schemas/SealedIdentity'
            CaseOpenedDataIn:
              title: CaseOpenedDataIn
              description: >-
                `data` of a CaseOpened to append. Ouverture du dossier (case stream).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              required: [person]
              properties:
                person:
                  $ref: '#/components/schemas/Pseudonym'
                role:
                  $ref: '#/components/schemas/CaseRoleIn'
                source:
                  $ref: '#/components/schemas/CaseSourceIn'
                patientZeroCase:
                  $ref: '#/components/schemas/CaseId'
                identity:
                  $ref: '#/components/schemas/SealedIdentity'
                phoneKnown:
                  type: boolean
            ContactDeclaredDataIn:
              title: ContactDeclaredDataIn
              description: >-
                `data` of a ContactDeclared to append. Déclaration d'un contact by a patient zéro (P0 case stream).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              required: [contactCase, contactPerson]
              properties:
                contactCase:
                  $ref: '#/components/schemas/CaseId'
                contactPerson:
                  $ref: '#/components/schemas/Pseudonym'
                lastExposureDate:
                  $ref: '#/components/schemas/CivilDate'
                setting:
                  $ref: '#/components/schemas/ExposureSettingIn'
            IsolationPrescribedDataIn:
              title: IsolationPrescribedDataIn
              description: >-
                `data` of a IsolationPrescribed to append. Isolement. `endDate` may not be before `startDate`.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                startDate:
                  $ref: '#/components/schemas/CivilDate'
                endDate:
                  $ref: '#/components/schemas/CivilDate'
                ruleVersion:
                  $ref: '#/components/schemas/FreeText'
            WorkStoppageIssuedDataIn:
              title: WorkStoppageIssuedDataIn
              description: >-
                `data` of a WorkStoppageIssued to append. Arrêt de travail. `endDate` may not be before `startDate`.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                startDate:
                  $ref: '#/components/schemas/CivilDate'
                endDate:
                  $ref: '#/components/schemas/CivilDate'
            NurseVisitRequestedDataIn:
              title: NurseVisitRequestedDataIn
              description: >-
                `data` of a NurseVisitRequested to append. Visite infirmière.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                note:
                  $ref: '#/components/schemas/FreeText'
            SocialSupportRequestedDataIn:
              title: SocialSupportRequestedDataIn
              description: >-
                `data` of a SocialSupportRequested to append. Accompagnement social.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                kind:
                  $ref: '#/components/schemas/FreeText'
            ClusterReportedDataIn:
              title: ClusterReportedDataIn
              description: >-
                `data` of a ClusterReported to append. Signalement ARS (cluster).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                clusterRef:
                  $ref: '#/components/schemas/FreeText'
                setting:
                  $ref: '#/components/schemas/ExposureSettingIn'
            CaseClosedDataIn:
              title: CaseClosedDataIn
              description: >-
                `data` of a CaseClosed to append. Clôture du dossier.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                reason:
                  $ref: '#/components/schemas/ClosureReasonIn'
            CallPlacedDataIn:
              title: CallPlacedDataIn
              description: >-
                `data` of a CallPlaced to append. Appel.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                direction:
                  $ref: '#/components/schemas/CallDirectionIn'
                line:
                  $ref: '#/components/schemas/LineKindIn'
                outcome:
                  $ref: '#/components/schemas/CallOutcomeIn'
                durationSeconds:
                  $ref: '#/components/schemas/UInt32'
                agent:
                  $ref: '#/components/schemas/FreeText'
            SMSSentDataIn:
              title: SMSSentDataIn
              description: >-
                `data` of a SMSSent to append. SMS envoyé.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                smsRef:
                  $ref: '#/components/schemas/FreeText'
                template:
                  $ref: '#/components/schemas/FreeText'
            SMSDeliveryReportedDataIn:
              title: SMSDeliveryReportedDataIn
              description: >-
                `data` of a SMSDeliveryReported to append. Accusé de réception SMS.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                smsRef:
                  $ref: '#/components/schemas/FreeText'
                delivered:
                  type: boolean
            LetterSentDataIn:
              title: LetterSentDataIn
              description: >-
                `data` of a LetterSent to append. Courrier.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                template:
                  $ref: '#/components/schemas/FreeText'
            TeleserviceSubmittedDataIn:
              title: TeleserviceSubmittedDataIn
              description: >-
                `data` of a TeleserviceSubmitted to append. Téléservice.
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              properties:
                form:
                  $ref: '#/components/schemas/FreeText'
            IdentityConsultedDataIn:
              title: IdentityConsultedDataIn
              description: >-
                `data` of a IdentityConsulted to append. Consultation d'identité (traçabilité).
                Unknown members are refused (422).
              type: object
              additionalProperties: false
              required: [person]
              properties:
                person:
                  $ref: '#/components/schemas/Pseudonym'
                actor:
                  $ref: '#/components/schemas/FreeText'
                reason:
                  $ref: '#/components/schemas/FreeText'
            PlatformOpenedNewEvent:
              title: PlatformOpenedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PlatformOpened
                    data:
                      $ref: '#/components/schemas/PlatformOpenedDataIn'
            PolicyChangedNewEvent:
              title: PolicyChangedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PolicyChanged
                    data:
                      $ref: '#/components/schemas/PolicyChangedDataIn'
            PlatformClosedNewEvent:
              title: PlatformClosedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PlatformClosed
                    data:
                      $ref: '#/components/schemas/PlatformClosedDataIn'
            CaseHandedOverNewEvent:
              title: CaseHandedOverNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  required: [data]
                  properties:
                    type:
                      const: CaseHandedOver
                    data:
                      $ref: '#/components/schemas/CaseHandedOverDataIn'
            PositiveTestReportedNewEvent:
              title: PositiveTestReportedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  required: [data]
                  properties:
                    type:
                      const: PositiveTestReported
                    data:
                      $ref: '#/components/schemas/PositiveTestReportedDataIn'
            CaseOpenedNewEvent:
              title: CaseOpenedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  required: [data]
                  properties:
                    type:
                      const: CaseOpened
                    data:
                      $ref: '#/components/schemas/CaseOpenedDataIn'
            ContactDeclaredNewEvent:
              title: ContactDeclaredNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  required: [data]
                  properties:
                    type:
                      const: ContactDeclared
                    data:
                      $ref: '#/components/schemas/ContactDeclaredDataIn'
            IsolationPrescribedNewEvent:
              title: IsolationPrescribedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: IsolationPrescribed
                    data:
                      $ref: '#/components/schemas/IsolationPrescribedDataIn'
            WorkStoppageIssuedNewEvent:
              title: WorkStoppageIssuedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: WorkStoppageIssued
                    data:
                      $ref: '#/components/schemas/WorkStoppageIssuedDataIn'
            NurseVisitRequestedNewEvent:
              title: NurseVisitRequestedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: NurseVisitRequested
                    data:
                      $ref: '#/components/schemas/NurseVisitRequestedDataIn'
            SocialSupportRequestedNewEvent:
              title: SocialSupportRequestedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: SocialSupportRequested
                    data:
                      $ref: '#/components/schemas/SocialSupportRequestedDataIn'
            ClusterReportedNewEvent:
              title: ClusterReportedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: ClusterReported
                    data:
                      $ref: '#/components/schemas/ClusterReportedDataIn'
            CaseClosedNewEvent:
              title: CaseClosedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: CaseClosed
                    data:
                      $ref: '#/components/schemas/CaseClosedDataIn'
            CallPlacedNewEvent:
              title: CallPlacedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: CallPlaced
                    data:
                      $ref: '#/components/schemas/CallPlacedDataIn'
            SMSSentNewEvent:
              title: SMSSentNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: SMSSent
                    data:
                      $ref: '#/components/schemas/SMSSentDataIn'
            SMSDeliveryReportedNewEvent:
              title: SMSDeliveryReportedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: SMSDeliveryReported
                    data:
                      $ref: '#/components/schemas/SMSDeliveryReportedDataIn'
            LetterSentNewEvent:
              title: LetterSentNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: LetterSent
                    data:
                      $ref: '#/components/schemas/LetterSentDataIn'
            TeleserviceSubmittedNewEvent:
              title: TeleserviceSubmittedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  properties:
                    type:
                      const: TeleserviceSubmitted
                    data:
                      $ref: '#/components/schemas/TeleserviceSubmittedDataIn'
            IdentityConsultedNewEvent:
              title: IdentityConsultedNewEvent
              allOf:
                - $ref: '#/components/schemas/NewEventEnvelope'
                - type: object
                  required: [data]
                  properties:
                    type:
                      const: IdentityConsulted
                    data:
                      $ref: '#/components/schemas/IdentityConsultedDataIn'
            PlatformOpenedData:
              title: PlatformOpenedData
              description: >-
                `data` of a stored PlatformOpened (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Ouverture de la plateforme (platform stream).
              type: object
              additionalProperties: false
              properties:
                name:
                  $ref: '#/components/schemas/FreeText'
                sites:
                  type: array
                  items:
                    $ref: '#/components/schemas/FreeText'
                openedOn:
                  $ref: '#/components/schemas/CivilDate'
            PolicyChangedData:
              title: PolicyChangedData
              description: >-
                `data` of a stored PolicyChanged (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Changement de doctrine (platform stream).
              type: object
              additionalProperties: false
              properties:
                ruleVersion:
                  $ref: '#/components/schemas/FreeText'
                effectiveOn:
                  $ref: '#/components/schemas/CivilDate'
                isolationDaysPatientZero:
                  $ref: '#/components/schemas/UInt32'
                isolationDaysContact:
                  $ref: '#/components/schemas/UInt32'
                contactIsolationRequired:
                  type: boolean
                outboundCallsStopped:
                  type: boolean
                landlineCallsStopped:
                  type: boolean
                contactNotificationDigitalOnly:
                  type: boolean
                note:
                  $ref: '#/components/schemas/FreeText'
            PlatformClosedData:
              title: PlatformClosedData
              description: >-
                `data` of a stored PlatformClosed (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Fermeture de la plateforme (platform stream).
              type: object
              additionalProperties: false
              properties:
                closedOn:
                  $ref: '#/components/schemas/CivilDate'
                handoverTo:
                  $ref: '#/components/schemas/FreeText'
            CaseHandedOverData:
              title: CaseHandedOverData
              description: >-
                `data` of a stored CaseHandedOver (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Transfert du dossier to another platform (case stream).
              type: object
              additionalProperties: false
              properties:
                toPlatform:
                  $ref: '#/components/schemas/FreeText'
            PositiveTestReportedData:
              title: PositiveTestReportedData
              description: >-
                `data` of a stored PositiveTestReported (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Résultat positif (SI-DEP), opens a patient zéro case. `resultDate` may not be before `sampleDate`.
              type: object
              additionalProperties: false
              required: [person]
              properties:
                person:
                  $ref: '#/components/schemas/Pseudonym'
                sampleDate:
                  $ref: '#/components/schemas/CivilDate'
                resultDate:
                  $ref: '#/components/schemas/CivilDate'
                kind:
                  $ref: '#/components/schemas/TestKind'
                symptomOnset:
                  $ref: '#/components/schemas/CivilDate'
                identity:
                  $ref: '#/components/schemas/SealedIdentity'
            CaseOpenedData:
              title: CaseOpenedData
              description: >-
                `data` of a stored CaseOpened (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Ouverture du dossier (case stream).
              type: object
              additionalProperties: false
              required: [person]
              properties:
                person:
                  $ref: '#/components/schemas/Pseudonym'
                role:
                  $ref: '#/components/schemas/CaseRole'
                source:
                  $ref: '#/components/schemas/CaseSource'
                patientZeroCase:
                  $ref: '#/components/schemas/CaseId'
                identity:
                  $ref: '#/components/schemas/SealedIdentity'
                phoneKnown:
                  type: boolean
            ContactDeclaredData:
              title: ContactDeclaredData
              description: >-
                `data` of a stored ContactDeclared (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Déclaration d'un contact by a patient zéro (P0 case stream).
              type: object
              additionalProperties: false
              required: [contactCase, contactPerson]
              properties:
                contactCase:
                  $ref: '#/components/schemas/CaseId'
                contactPerson:
                  $ref: '#/components/schemas/Pseudonym'
                lastExposureDate:
                  $ref: '#/components/schemas/CivilDate'
                setting:
                  $ref: '#/components/schemas/ExposureSetting'
            IsolationPrescribedData:
              title: IsolationPrescribedData
              description: >-
                `data` of a stored IsolationPrescribed (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Isolement. `endDate` may not be before `startDate`.
              type: object
              additionalProperties: false
              properties:
                startDate:
                  $ref: '#/components/schemas/CivilDate'
                endDate:
                  $ref: '#/components/schemas/CivilDate'
                ruleVersion:
                  $ref: '#/components/schemas/FreeText'
            WorkStoppageIssuedData:
              title: WorkStoppageIssuedData
              description: >-
                `data` of a stored WorkStoppageIssued (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Arrêt de travail. `endDate` may not be before `startDate`.
              type: object
              additionalProperties: false
              properties:
                startDate:
                  $ref: '#/components/schemas/CivilDate'
                endDate:
                  $ref: '#/components/schemas/CivilDate'
            NurseVisitRequestedData:
              title: NurseVisitRequestedData
              description: >-
                `data` of a stored NurseVisitRequested (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Visite infirmière.
              type: object
              additionalProperties: false
              properties:
                note:
                  $ref: '#/components/schemas/FreeText'
            SocialSupportRequestedData:
              title: SocialSupportRequestedData
              description: >-
                `data` of a stored SocialSupportRequested (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Accompagnement social.
              type: object
              additionalProperties: false
              properties:
                kind:
                  $ref: '#/components/schemas/FreeText'
            ClusterReportedData:
              title: ClusterReportedData
              description: >-
                `data` of a stored ClusterReported (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Signalement ARS (cluster).
              type: object
              additionalProperties: false
              properties:
                clusterRef:
                  $ref: '#/components/schemas/FreeText'
                setting:
                  $ref: '#/components/schemas/ExposureSetting'
            CaseClosedData:
              title: CaseClosedData
              description: >-
                `data` of a stored CaseClosed (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Clôture du dossier.
              type: object
              additionalProperties: false
              properties:
                reason:
                  $ref: '#/components/schemas/ClosureReason'
            CallPlacedData:
              title: CallPlacedData
              description: >-
                `data` of a stored CallPlaced (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Appel.
              type: object
              additionalProperties: false
              properties:
                direction:
                  $ref: '#/components/schemas/CallDirection'
                line:
                  $ref: '#/components/schemas/LineKind'
                outcome:
                  $ref: '#/components/schemas/CallOutcome'
                durationSeconds:
                  $ref: '#/components/schemas/UInt32'
                agent:
                  $ref: '#/components/schemas/FreeText'
            SMSSentData:
              title: SMSSentData
              description: >-
                `data` of a stored SMSSent (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). SMS envoyé.
              type: object
              additionalProperties: false
              properties:
                smsRef:
                  $ref: '#/components/schemas/FreeText'
                template:
                  $ref: '#/components/schemas/FreeText'
            SMSDeliveryReportedData:
              title: SMSDeliveryReportedData
              description: >-
                `data` of a stored SMSDeliveryReported (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Accusé de réception SMS.
              type: object
              additionalProperties: false
              properties:
                smsRef:
                  $ref: '#/components/schemas/FreeText'
                delivered:
                  type: boolean
            LetterSentData:
              title: LetterSentData
              description: >-
                `data` of a stored LetterSent (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Courrier.
              type: object
              additionalProperties: false
              properties:
                template:
                  $ref: '#/components/schemas/FreeText'
            TeleserviceSubmittedData:
              title: TeleserviceSubmittedData
              description: >-
                `data` of a stored TeleserviceSubmitted (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Téléservice.
              type: object
              additionalProperties: false
              properties:
                form:
                  $ref: '#/components/schemas/FreeText'
            IdentityConsultedData:
              title: IdentityConsultedData
              description: >-
                `data` of a stored IdentityConsulted (protobuf JSON mapping: members at their default
                value, i.e. empty string, 0, false or an empty list, are left out; enumerations are
                written by name). Consultation d'identité (traçabilité).
              type: object
              additionalProperties: false
              required: [person]
              properties:
                person:
                  $ref: '#/components/schemas/Pseudonym'
                actor:
                  $ref: '#/components/schemas/FreeText'
                reason:
                  $ref: '#/components/schemas/FreeText'
            PlatformOpenedEvent:
              title: PlatformOpenedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PlatformOpened
                    data:
                      $ref: '#/components/schemas/PlatformOpenedData'
            PolicyChangedEvent:
              title: PolicyChangedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PolicyChanged
                    data:
                      $ref: '#/components/schemas/PolicyChangedData'
            PlatformClosedEvent:
              title: PlatformClosedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PlatformClosed
                    data:
                      $ref: '#/components/schemas/PlatformClosedData'
            CaseHandedOverEvent:
              title: CaseHandedOverEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: CaseHandedOver
                    data:
                      $ref: '#/components/schemas/CaseHandedOverData'
            PositiveTestReportedEvent:
              title: PositiveTestReportedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: PositiveTestReported
                    data:
                      $ref: '#/components/schemas/PositiveTestReportedData'
            CaseOpenedEvent:
              title: CaseOpenedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: CaseOpened
                    data:
                      $ref: '#/components/schemas/CaseOpenedData'
            ContactDeclaredEvent:
              title: ContactDeclaredEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: ContactDeclared
                    data:
                      $ref: '#/components/schemas/ContactDeclaredData'
            IsolationPrescribedEvent:
              title: IsolationPrescribedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: IsolationPrescribed
                    data:
                      $ref: '#/components/schemas/IsolationPrescribedData'
            WorkStoppageIssuedEvent:
              title: WorkStoppageIssuedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: WorkStoppageIssued
                    data:
                      $ref: '#/components/schemas/WorkStoppageIssuedData'
            NurseVisitRequestedEvent:
              title: NurseVisitRequestedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: NurseVisitRequested
                    data:
                      $ref: '#/components/schemas/NurseVisitRequestedData'
            SocialSupportRequestedEvent:
              title: SocialSupportRequestedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: SocialSupportRequested
                    data:
                      $ref: '#/components/schemas/SocialSupportRequestedData'
            ClusterReportedEvent:
              title: ClusterReportedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: ClusterReported
                    data:
                      $ref: '#/components/schemas/ClusterReportedData'
            CaseClosedEvent:
              title: CaseClosedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: CaseClosed
                    data:
                      $ref: '#/components/schemas/CaseClosedData'
            CallPlacedEvent:
              title: CallPlacedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: CallPlaced
                    data:
                      $ref: '#/components/schemas/CallPlacedData'
            SMSSentEvent:
              title: SMSSentEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: SMSSent
                    data:
                      $ref: '#/components/schemas/SMSSentData'
            SMSDeliveryReportedEvent:
              title: SMSDeliveryReportedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: SMSDeliveryReported
                    data:
                      $ref: '#/components/schemas/SMSDeliveryReportedData'
            LetterSentEvent:
              title: LetterSentEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: LetterSent
                    data:
                      $ref: '#/components/schemas/LetterSentData'
            TeleserviceSubmittedEvent:
              title: TeleserviceSubmittedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: TeleserviceSubmitted
                    data:
                      $ref: '#/components/schemas/TeleserviceSubmittedData'
            IdentityConsultedEvent:
              title: IdentityConsultedEvent
              allOf:
                - $ref: '#/components/schemas/EventEnvelope'
                - type: object
                  properties:
                    type:
                      const: IdentityConsulted
                    data:
                      $ref: '#/components/schemas/IdentityConsultedData'

        """#
}

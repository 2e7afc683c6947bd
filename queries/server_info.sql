-- Server identity and lockdiag's own session. All servers; no privilege needed.
SELECT VERSION() AS version, @@version_comment AS version_comment, @@hostname AS hostname,
       @@port AS port, @@server_id AS server_id, CONNECTION_ID() AS connection_id,
       CURRENT_USER() AS current_user_name, @@performance_schema AS performance_schema,
       @@read_only AS read_only,
       -- NOW() and UTC_TIMESTAMP() read the same statement start: the difference is exact.
       TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW()) AS utc_offset_secs

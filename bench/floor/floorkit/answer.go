package floorkit

// Answer is what the HTTP floor writes for every probe: a real exposition
// of smtp_exporter for a STARTTLS probe that passed (text format, 60 lines,
// 3443 bytes), so the floor writes as much as an exporter does.
const Answer = `# HELP probe_dns_lookup_time_seconds How long name resolution took (blackbox's name, kept for compatibility).
# TYPE probe_dns_lookup_time_seconds gauge
probe_dns_lookup_time_seconds 1.242e-06
# HELP probe_duration_seconds How long the whole probe took.
# TYPE probe_duration_seconds gauge
probe_duration_seconds 0.002349078
# HELP probe_ip_protocol IP protocol of the address probed: 4 or 6.
# TYPE probe_ip_protocol gauge
probe_ip_protocol 4
# HELP probe_smtp_auth_advertised 1 if the EHLO that counts (after TLS where TLS is used) advertised AUTH.
# TYPE probe_smtp_auth_advertised gauge
probe_smtp_auth_advertised 0
# HELP probe_smtp_auth_before_tls 1 if AUTH was offered on the plaintext EHLO of a STARTTLS dialogue.
# TYPE probe_smtp_auth_before_tls gauge
probe_smtp_auth_before_tls 0
# HELP probe_smtp_duration_seconds Duration of each phase of the SMTP dialogue that ran.
# TYPE probe_smtp_duration_seconds gauge
probe_smtp_duration_seconds{phase="connect"} 8.6758e-05
probe_smtp_duration_seconds{phase="ehlo"} 0.00018902
probe_smtp_duration_seconds{phase="greeting"} 0.000217702
probe_smtp_duration_seconds{phase="quit"} 0.000174999
probe_smtp_duration_seconds{phase="resolve"} 1.242e-06
probe_smtp_duration_seconds{phase="starttls"} 8.2663e-05
probe_smtp_duration_seconds{phase="tls"} 0.001226626
# HELP probe_smtp_greeting_code Reply code of the server's greeting.
# TYPE probe_smtp_greeting_code gauge
probe_smtp_greeting_code 220
# HELP probe_smtp_reachable 1 if the TCP connection was established.
# TYPE probe_smtp_reachable gauge
probe_smtp_reachable 1
# HELP probe_smtp_size_limit_bytes Message size limit from the SIZE extension (0: no fixed limit).
# TYPE probe_smtp_size_limit_bytes gauge
probe_smtp_size_limit_bytes 1.024e+07
# HELP probe_smtp_starttls_advertised 1 if the plaintext EHLO advertised STARTTLS.
# TYPE probe_smtp_starttls_advertised gauge
probe_smtp_starttls_advertised 1
# HELP probe_ssl_earliest_cert_expiry Unix time of the earliest expiry among the presented certificates.
# TYPE probe_ssl_earliest_cert_expiry gauge
probe_ssl_earliest_cert_expiry 1.796373445e+09
# HELP probe_ssl_last_chain_expiry_timestamp_seconds Unix time of the earliest expiry in the verified chain.
# TYPE probe_ssl_last_chain_expiry_timestamp_seconds gauge
probe_ssl_last_chain_expiry_timestamp_seconds 1.796373445e+09
# HELP probe_ssl_last_chain_info The server's leaf certificate.
# TYPE probe_ssl_last_chain_info gauge
probe_ssl_last_chain_info{fingerprint_sha256="546792f225e94c244a48a8b817575138b88561d218c7e7c2dcc0674fd5ad60d9",issuer="CN=smtptest CA",serialnumber="17dae9af2cb46f13",subject="CN=127.0.0.1",subjectalternative="127.0.0.1"} 1
# HELP probe_ssl_leaf_expiry_timestamp_seconds Unix time of the server certificate's (the leaf's) expiry.
# TYPE probe_ssl_leaf_expiry_timestamp_seconds gauge
probe_ssl_leaf_expiry_timestamp_seconds 1.796373445e+09
# HELP probe_success 1 if every step of the module passed.
# TYPE probe_success gauge
probe_success 1
# HELP probe_tls_certificate_verified 1 if the chain and host name verify against the configured roots.
# TYPE probe_tls_certificate_verified gauge
probe_tls_certificate_verified 1
# HELP probe_tls_cipher_info TLS cipher suite negotiated.
# TYPE probe_tls_cipher_info gauge
probe_tls_cipher_info{cipher="TLS_AES_128_GCM_SHA256"} 1
# HELP probe_tls_version_info TLS version negotiated.
# TYPE probe_tls_version_info gauge
probe_tls_version_info{version="TLS 1.3"} 1
`

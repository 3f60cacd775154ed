// The per-target dashboard: one target over time, its failures, phases,
// certificate, greeting and submission port; for a mail domain its MX hosts,
// addresses, DANE and MTA-STS.
local lib = import 'lib.libsonnet';

function(config)
  local q = lib.queries(lib.selector('${instance:regex}'));
  // The certificate alerts' expiry: the verified chain, else the leaf.
  local expiry = '(probe_ssl_last_chain_expiry_timestamp_seconds{S} or probe_ssl_leaf_expiry_timestamp_seconds{S})';
  // Red text for a stat whose value is missing for a bad reason.
  local missing(text) = { noValue: text, mappings+: [{ type: 'special', options: { match: 'null', result: { text: text, color: 'red', index: 99 } } }] };
  local panels =
    [
      lib.row('Now', 0),
      lib.stat(
        'Probe',
        'probe_success per vantage; "no data" in red when no probe result is stored (the exporter is down, or its scrape fails).',
        [0, 1, 4, 4],
        [
          q.instant('min by (vantage) (probe_success{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: { "1": { text: 'UP', color: 'green', index: 0 }, "0": { text: 'DOWN', color: 'red', index: 1 } },
              },
            ],
            thresholds+: {
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
          } + lib.noData,
        },
      },
      lib.stat(
        'Failure',
        'Phase and reason of the current failure (probe_smtp_failure), per vantage and port.',
        [4, 1, 6, 4],
        [
          q.instant('max by (vantage, port, phase, reason) (probe_smtp_failure{S})', 'A', '{{reason}} at {{phase}} {{port}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            noValue: 'none',
          },
        },
        options+: {
          colorMode: 'none',
          textMode: 'name',
        },
      },
      lib.stat(
        'Submission port',
        'The port the submission decision rule picks (587 → 465 → 2525), submission prober only.',
        [10, 1, 3, 4],
        [
          q.instant('max by (vantage) (probe_smtp_submission_port{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: {
                  "587": { text: '587', color: 'green', index: 0 },
                  "465": { text: '465 (fallback)', color: 'yellow', index: 1 },
                  "2525": { text: '2525 (fallback)', color: 'orange', index: 2 },
                  "0": { text: 'none works', color: 'red', index: 3 },
                },
              },
            ],
            noValue: 'n/a',
          },
        },
      },
      lib.stat(
        'Greeting',
        'Greeting reply code; "no greeting" in red when none arrived (the connection failed) or no probe result is stored.',
        [13, 1, 3, 4],
        [
          q.instant('max by (vantage, port) (probe_smtp_greeting_code{S})', 'A', '{{port}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              { type: 'value', options: { "220": { color: 'green', index: 0 } } },
              { type: 'range', options: { from: 400, to: 499, result: { color: 'orange', index: 1 } } },
              { type: 'range', options: { from: 500, to: 599, result: { color: 'red', index: 2 } } },
            ],
          } + missing('no greeting'),
        },
        options+: {
          colorMode: 'value',
        },
      },
      lib.stat(
        'TLS',
        'Negotiated TLS version.',
        [16, 1, 3, 4],
        [
          q.instant('max by (vantage, port, version) (probe_tls_version_info{S})', 'A', '{{version}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            noValue: 'no TLS',
          },
        },
        options+: {
          colorMode: 'none',
          textMode: 'name',
        },
      },
      lib.stat(
        'Certificate days left',
        'Days until the certificate expires: the earliest expiry of the verified chain, or of the leaf certificate when the chain does not verify (as SmtpCertificateExpiringSoon).',
        [19, 1, 3, 4],
        [
          q.instant('min((%s - time()) / 86400)' % expiry),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            noValue: 'no certificate',
            thresholds+: {
              steps: lib.steps(['red', config.certificateExpiryCriticalDays, 'orange', config.certificateExpiryWarningDays, 'green']).steps,
            },
            decimals: 1,
          },
        },
      },
      lib.stat(
        'Verified',
        'Whether the certificate chain and host name verify (on port 25 a certificate that does not verify does not fail the probe: SmtpCertificateNotVerified).',
        [22, 1, 2, 4],
        [
          q.instant('min(probe_tls_certificate_verified{S})'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
              },
            ],
            thresholds+: {
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            noValue: 'no TLS',
          },
        },
      },
      lib.row('History', 5),
      lib.stateTimeline(
        'Failure reasons',
        'probe_success per vantage (UP/DOWN), and a row per failure phase and reason while it lasts (probe_smtp_failure, per port for the submission prober).',
        [0, 6, 24, 8],
        [
          q.range('min by (vantage) (probe_success{S})', 'A', 'probe_success {{vantage}}'),
          q.range('max by (vantage, port, phase, reason) (probe_smtp_failure{S})', 'B', '{{reason}} at {{phase}} {{port}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: { "1": { text: 'UP', color: 'green', index: 0 }, "0": { text: 'DOWN', color: 'red', index: 1 } },
              },
            ],
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [
                {
                  id: 'mappings',
                  value: [{ type: 'value', options: { "1": { text: 'failing', color: 'red', index: 0 } } }],
                },
              ],
            },
          ],
        },
      },
      lib.timeseries(
        'Phase latency (stacked)',
        'Duration of each SMTP phase, stacked: the top of the stack is the dialogue\'s duration. Averaged over the selected vantages and ports; pick one vantage for exact values.',
        [0, 14, 12, 9],
        [
          q.range('avg by (phase) (probe_smtp_duration_seconds{S})', 'A', '{{phase}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            custom+: {
              fillOpacity: 60,
              stacking+: {
                mode: 'normal',
              },
            },
            unit: 's',
          },
        },
        options+: {
          legend+: {
            displayMode: 'table',
            calcs: ['mean', 'max', 'lastNotNull'],
          },
        },
      },
      lib.timeseries(
        'Certificate expiry countdown',
        'Days until the certificate expires as the alerts see it (the verified chain, or the leaf when the chain does not verify), and until the earliest of every certificate the server presents (probe_ssl_earliest_cert_expiry: also an extra intermediate that is not in the chain, which alerts ignore). Warning at %d days, critical at %d.' % [config.certificateExpiryWarningDays, config.certificateExpiryCriticalDays],
        [12, 14, 12, 9],
        [
          q.range('min by (vantage, port) (%s - time()) / 86400' % expiry, 'A', 'certificate {{port}} {{vantage}}'),
          q.range('min by (vantage, port) (probe_ssl_earliest_cert_expiry{S} - time()) / 86400', 'B', 'any presented {{port}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            custom+: {
              thresholdsStyle+: {
                mode: 'line+area',
              },
            },
            thresholds+: {
              steps: lib.steps(['red', config.certificateExpiryCriticalDays, 'orange', config.certificateExpiryWarningDays, 'green']).steps,
            },
            decimals: 1,
          },
        },
      },
      lib.stateTimeline(
        'Greeting code history',
        'The greeting\'s reply code over time: 220 ready, 421 not available, 554 refused.',
        [0, 23, 12, 6],
        [
          q.range('max by (vantage, port) (probe_smtp_greeting_code{S})', 'A', 'greeting {{port}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            thresholds+: {
              steps: [{ color: 'red', value: null }, { color: 'green', value: 220 }, { color: 'red', value: 221 }],
            },
          },
        },
      },
      lib.stateTimeline(
        'Submission port history',
        'The port the submission decision rule picked over time (submission prober only).',
        [12, 23, 12, 6],
        [
          q.range('max by (vantage) (probe_smtp_submission_port{S})', 'A', 'picked {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: {
                  "587": { text: '587', color: 'green', index: 0 },
                  "465": { text: '465 (fallback)', color: 'yellow', index: 1 },
                  "2525": { text: '2525 (fallback)', color: 'orange', index: 2 },
                  "0": { text: 'none works', color: 'red', index: 3 },
                },
              },
            ],
          },
        },
      },
      lib.timeseries(
        'Failure reply code',
        'The SMTP reply code that decided a failure (421, 454, 530, 535, 554…; 250 for auth_not_enforced).',
        [0, 29, 12, 6],
        [
          q.range('max by (vantage, port) (probe_smtp_failure_reply_code{S})', 'A', '{{port}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            custom+: {
              drawStyle: 'points',
            },
            decimals: 0,
          },
        },
      },
      lib.timeseries(
        'Probe duration',
        'Whole probe duration per vantage (probe_duration_seconds).',
        [12, 29, 12, 6],
        [
          q.range('max by (vantage) (probe_duration_seconds{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            unit: 's',
          },
        },
      },
      lib.row('Details', 35),
      lib.tablePanel(
        'Capabilities',
        'What each dialogue saw: STARTTLS on the plaintext EHLO, AUTH before TLS, AUTH on the EHLO that counts, AUTH result, RFC 6409 enforcement, SIZE limit, IP version, TLS cipher. Empty cells: not measured by that module.',
        [0, 36, 12, 7],
        [
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_smtp_starttls_advertised{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")'),
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_smtp_auth_before_tls{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'B'),
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_smtp_auth_advertised{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'C'),
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_smtp_auth_success{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'D'),
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_smtp_auth_enforced{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'E'),
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_smtp_size_limit_bytes{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'F'),
          q.table('label_replace(max by (job, vantage, port) (label_replace(probe_ip_protocol{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'G'),
          q.table('label_replace(max by (job, vantage, port, cipher) (label_replace(probe_tls_cipher_info{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'H'),
        ],
      ) + {
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, "Value #H": true },
              renameByName: {
                job: 'Job',
                port: 'Port',
                vantage: 'Vantage',
                cipher: 'Cipher',
                "Value #A": 'STARTTLS',
                "Value #B": 'AUTH before TLS',
                "Value #C": 'AUTH',
                "Value #D": 'AUTH ok',
                "Value #E": 'AUTH enforced',
                "Value #F": 'SIZE',
                "Value #G": 'IP',
              },
              indexByName: {
                job: 0,
                port: 2,
                vantage: 1,
                cipher: 10,
                "Value #A": 3,
                "Value #B": 4,
                "Value #C": 5,
                "Value #D": 6,
                "Value #E": 7,
                "Value #F": 8,
                "Value #G": 9,
              },
            },
          },
        ],
        fieldConfig+: {
          overrides: [
            {
              matcher: { id: 'byName', options: 'STARTTLS' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'AUTH' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'AUTH ok' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'AUTH enforced' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'AUTH before TLS' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'red', index: 0 }, "0": { text: 'no', color: 'green', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            { matcher: { id: 'byName', options: 'SIZE' }, properties: [{ id: 'unit', value: 'bytes' }] },
            {
              matcher: { id: 'byName', options: 'IP' },
              properties: [
                {
                  id: 'mappings',
                  value: [{ type: 'value', options: { "4": { text: 'IPv4', index: 0 }, "6": { text: 'IPv6', index: 1 } } }],
                },
              ],
            },
          ],
        },
      },
      lib.tablePanel(
        'Certificate',
        'The leaf certificate each dialogue was presented (probe_ssl_last_chain_info).',
        [12, 36, 12, 7],
        [
          q.table('max by (vantage, port, subject, issuer, subjectalternative, serialnumber, fingerprint_sha256) (label_replace(probe_ssl_last_chain_info{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)"))'),
        ],
      ) + {
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, Value: true },
              renameByName: {
                vantage: 'Vantage',
                port: 'Port',
                subject: 'Subject',
                issuer: 'Issuer',
                subjectalternative: 'SANs',
                serialnumber: 'Serial',
                fingerprint_sha256: 'SHA-256',
              },
              indexByName: {
                vantage: 0,
                port: 1,
                subject: 2,
                subjectalternative: 3,
                issuer: 4,
                serialnumber: 5,
                fingerprint_sha256: 6,
              },
            },
          },
        ],
        fieldConfig+: {
          defaults+: {
            noValue: 'No TLS',
          },
        },
      },
      lib.row('Inbound MX (port 25)', 43),
      lib.stat(
        'MX hosts down',
        'MX hosts of the domain whose dialogue fails (probe_smtp_mx_hosts − probe_smtp_mx_hosts_working), per vantage: senders that pick one lose time or queue there. mx prober only.',
        [0, 44, 4, 4],
        [
          q.instant('max by (vantage) (probe_smtp_mx_hosts{S} - probe_smtp_mx_hosts_working{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            thresholds+: {
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
            },
            noValue: 'no mx probe',
          },
        },
      },
      lib.stat(
        'Addresses down',
        'Addresses (A and AAAA records) whose dialogue fails, over the target or all its MX hosts (probe_smtp_addresses − probe_smtp_addresses_working), per vantage. all_addresses only.',
        [4, 44, 4, 4],
        [
          q.instant('sum by (vantage) (probe_smtp_addresses{S} - probe_smtp_addresses_working{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            thresholds+: {
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
            },
            noValue: 'not all_addresses',
          },
        },
      },
      lib.stat(
        'DANE match',
        'Whether every dialogue\'s certificate chain matches a DNSSEC-validated TLSA record (probe_smtp_dane_match, the worst per vantage). Empty: no dane check, or no validated, usable TLSA record (see DNSSEC in the table).',
        [8, 44, 4, 4],
        [
          q.instant('min by (vantage) (probe_smtp_dane_match{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: {
                  "1": { text: 'match', color: 'green', index: 0 },
                  "0": { text: 'MISMATCH', color: 'red', index: 1 },
                },
              },
            ],
            thresholds+: {
              steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
            },
            noValue: 'no validated TLSA',
          },
        },
      },
      lib.stat(
        'MTA-STS mode',
        'The domain\'s MTA-STS policy mode (probe_smtp_mta_sts_mode_info): enforce, testing or none. Empty: no valid policy (see Failure), or mx.mta_sts is off.',
        [12, 44, 4, 4],
        [
          q.instant('max by (vantage) (probe_smtp_mta_sts_mode_info{S, mode="enforce"} * 3 or probe_smtp_mta_sts_mode_info{S, mode="testing"} * 2 or probe_smtp_mta_sts_mode_info{S, mode="none"})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: {
                  "3": { text: 'enforce', color: 'green', index: 0 },
                  "2": { text: 'testing', color: 'yellow', index: 1 },
                  "1": { text: 'none', color: 'orange', index: 2 },
                },
              },
            ],
            noValue: 'no policy',
          },
        },
      },
      lib.stat(
        'MTA-STS max_age',
        'The policy\'s max_age (probe_smtp_mta_sts_max_age_seconds): how long senders cache it.',
        [16, 44, 4, 4],
        [
          q.instant('max by (vantage) (probe_smtp_mta_sts_max_age_seconds{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            unit: 's',
            noValue: 'no policy',
          },
        },
        options+: {
          colorMode: 'none',
        },
      },
      lib.stat(
        'MX hosts not in the policy',
        'MX hosts the MTA-STS policy\'s mx patterns do not name (1 − probe_smtp_mta_sts_mx_match, summed): under enforce, senders refuse to deliver to them; under testing they only report.',
        [20, 44, 4, 4],
        [
          q.instant('sum by (vantage) (1 - probe_smtp_mta_sts_mx_match{S})', 'A', '{{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            thresholds+: {
              steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
            },
            noValue: 'no policy',
          },
        },
      },
      lib.stateTimeline(
        'MX hosts and addresses',
        'Each MX host (mx prober) and each address (all_addresses) over time: OK, FAIL, BLOCKED (connect timed out), REFUSED, and a row per failure while it lasts (probe_smtp_failure with mx or address: phase and reason).',
        [0, 48, 24, 8],
        [
          q.range('min by (vantage, mx, preference, address, ip_version) ((probe_smtp_reachable{S, mx!=""} or probe_smtp_reachable{S, address!=""}) * 0 + 1 unless ignoring (phase, reason) (probe_smtp_failure{S, mx!=""} or probe_smtp_failure{S, address!=""}) or (max without (phase, reason) (probe_smtp_failure{S, mx!="", phase="connect", reason="timeout"} or probe_smtp_failure{S, address!="", phase="connect", reason="timeout"}) * -1) or (max without (phase, reason) (probe_smtp_failure{S, mx!="", reason="refused"} or probe_smtp_failure{S, address!="", reason="refused"}) * -2) or max without (phase, reason) (probe_smtp_failure{S, mx!=""} or probe_smtp_failure{S, address!=""}) * 0)', 'A', '{{mx}} {{address}} {{vantage}}'),
          q.range('max by (vantage, mx, preference, address, ip_version, phase, reason) (probe_smtp_failure{S, mx!=""} or probe_smtp_failure{S, address!=""})', 'B', '{{mx}} {{address}}: {{reason}} at {{phase}} {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            mappings: [
              {
                type: 'value',
                options: {
                  "1": { text: 'OK', color: 'green', index: 0 },
                  "0": { text: 'FAIL', color: 'red', index: 1 },
                  "-1": { text: 'BLOCKED', color: 'purple', index: 2 },
                  "-2": { text: 'REFUSED', color: 'orange', index: 3 },
                },
              },
            ],
          },
          overrides: [
            {
              matcher: { id: 'byFrameRefID', options: 'B' },
              properties: [
                {
                  id: 'mappings',
                  value: [{ type: 'value', options: { "1": { text: 'failing', color: 'red', index: 0 } } }],
                },
              ],
            },
          ],
        },
      },
      lib.tablePanel(
        'MX hosts: DANE and MTA-STS',
        'Each MX host now: status (the worst of its addresses), addresses probed and working (all_addresses), TLSA records at _25._tcp.MXHOST, whether they were DNSSEC-validated, whether the chain matches one (empty: no validated, usable record), whether the MTA-STS policy names the host, and whether its certificate verifies for its name (what MTA-STS requires).',
        [0, 56, 16, 8],
        [
          q.table('label_replace(min by (vantage, mx, preference) ((probe_smtp_reachable{S, mx!=""}) * 0 + 1 unless ignoring (phase, reason) (probe_smtp_failure{S, mx!=""}) or (max without (phase, reason) (probe_smtp_failure{S, mx!="", phase="connect", reason="timeout"}) * -1) or (max without (phase, reason) (probe_smtp_failure{S, mx!="", reason="refused"}) * -2) or max without (phase, reason) (probe_smtp_failure{S, mx!=""}) * 0), "vantage", "(none)", "vantage", "")'),
          q.table('label_replace(max by (vantage, mx, preference) (probe_smtp_addresses{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'B'),
          q.table('label_replace(max by (vantage, mx, preference) (probe_smtp_addresses_working{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'C'),
          q.table('label_replace(max by (vantage, mx, preference) (probe_smtp_dane_records{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'D'),
          q.table('label_replace(min by (vantage, mx, preference) (probe_smtp_dane_validated{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'E'),
          q.table('label_replace(min by (vantage, mx, preference) (probe_smtp_dane_match{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'F'),
          q.table('label_replace(max by (vantage, mx, preference) (probe_smtp_mta_sts_mx_match{S}), "vantage", "(none)", "vantage", "")', 'G'),
          q.table('label_replace(min by (vantage, mx, preference) (probe_tls_certificate_verified{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'H'),
        ],
      ) + {
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                mx: 'MX host',
                preference: 'Preference',
                vantage: 'Vantage',
                "Value #A": 'Status',
                "Value #B": 'Addresses',
                "Value #C": 'Working',
                "Value #D": 'TLSA records',
                "Value #E": 'DNSSEC',
                "Value #F": 'DANE match',
                "Value #G": 'In MTA-STS policy',
                "Value #H": 'Verified',
              },
              indexByName: {
                mx: 0,
                preference: 1,
                vantage: 2,
                "Value #A": 3,
                "Value #B": 4,
                "Value #C": 5,
                "Value #D": 6,
                "Value #E": 7,
                "Value #F": 8,
                "Value #G": 9,
                "Value #H": 10,
              },
            },
          },
        ],
        fieldConfig+: {
          defaults+: {
            noValue: 'No MX hosts: not an mx probe',
          },
          overrides: [
            {
              matcher: { id: 'byName', options: 'Status' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        "1": { text: 'OK', color: 'green', index: 0 },
                        "0": { text: 'FAIL', color: 'red', index: 1 },
                        "-1": { text: 'BLOCKED', color: 'purple', index: 2 },
                        "-2": { text: 'REFUSED', color: 'orange', index: 3 },
                      },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                { id: 'custom.width', value: 90 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'DNSSEC' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        "1": { text: 'validated', color: 'green', index: 0 },
                        "0": { text: 'not validated', color: 'orange', index: 1 },
                      },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'DANE match' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'In MTA-STS policy' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Verified' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: { "1": { text: 'yes', color: 'green', index: 0 }, "0": { text: 'no', color: 'red', index: 1 } },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
          ],
        },
        options+: {
          sortBy: [{ displayName: 'Preference', desc: false }],
        },
      },
      lib.timeseries(
        'MX hosts and addresses working',
        'MX hosts probed and working (mx prober), addresses probed and working (all_addresses, summed over the MX hosts), per vantage.',
        [16, 56, 8, 8],
        [
          q.range('max by (vantage) (probe_smtp_mx_hosts{S})', 'A', 'MX hosts {{vantage}}'),
          q.range('max by (vantage) (probe_smtp_mx_hosts_working{S})', 'B', 'MX hosts working {{vantage}}'),
          q.range('sum by (vantage) (probe_smtp_addresses{S})', 'C', 'addresses {{vantage}}'),
          q.range('sum by (vantage) (probe_smtp_addresses_working{S})', 'D', 'addresses working {{vantage}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            custom+: {
              fillOpacity: 0,
              lineInterpolation: 'stepAfter',
            },
            min: 0,
            decimals: 0,
          },
        },
      },
      lib.row('Posture (tls_scan, require_extensions, mx.tls_rpt)', 60),
      lib.tablePanel(
        'TLS versions accepted',
        'With tls_scan: true, each TLS version tried on a connection of its own: 1 = the handshake completed. TLS 1.0 and 1.1 accepted is a compliance finding (SmtpLegacyTLSAccepted).',
        [0, 61, 10, 6],
        [
          q.table('max by (vantage, port, mx, version) (probe_tls_version_accepted{S})', 'A'),
        ],
      ),
      lib.tablePanel(
        'Required extensions',
        'With smtp.require_extensions: 1 when the EHLO that counts advertises the extension (SmtpExtensionMissing when not).',
        [10, 61, 7, 6],
        [
          q.table('min by (vantage, port, extension) (probe_smtp_extension_advertised{S})', 'A'),
        ],
      ),
      lib.stat(
        'TLS-RPT record',
        'With mx.tls_rpt: whether the domain publishes exactly one v=TLSRPTv1 record (A) that names a usable rua address (B); SmtpTlsRptMissing when not.',
        [17, 61, 7, 6],
        [
          q.instant('min by (vantage) (probe_smtp_tlsrpt_record{S})', 'A', 'record {{vantage}}'),
          q.instant('min by (vantage) (probe_smtp_tlsrpt_rua_valid{S})', 'B', 'rua {{vantage}}'),
        ],
      ) + { fieldConfig+: { defaults+: { thresholds+: { steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] } } + missing('not checked') } },
    ]
  ;
  lib.dashboard(
    config,
    'smtp-exporter-target',
    'SMTP exporter / Target',
    'One SMTP target probed by smtp_exporter: failure reasons, phase latency, certificate, greeting and submission port over time; for a mail domain, its MX hosts, addresses, DANE and MTA-STS.',
    panels,
    false,
  )

// The overview dashboard: every target, status, blocked ports, the target ×
// vantage grid, inbound MX, the exporter's health, success ratio and latency.
local lib = import 'lib.libsonnet';

function(config)
  local q = lib.queries(lib.selector('$instance'));
  // The certificate alerts' expiry: the verified chain, else the leaf.
  local expiry = '(probe_ssl_last_chain_expiry_timestamp_seconds{S} or probe_ssl_leaf_expiry_timestamp_seconds{S})';
  local glance =
    [
      lib.row('At a glance', 0),
      lib.stat(
        'Probes',
        'Probes (job × target × vantage) in the selection, whether their scrape works or not.',
        [0, 1, 4, 4],
        [
          q.instant('count(up{S})'),
        ],
      ) + {
        fieldConfig+: { defaults+: lib.noData },
        options+: { colorMode: 'none' },
      },
      // No `or vector(0)`: a count is 0 only while there are probes to
      // count (`or count(…) * 0`), and "no data" in red when nothing is
      // scraped, so a dead exporter never shows a green 0.
      lib.stat(
        'Probes failing',
        'Probes whose probe_success is 0 now, and probes whose scrape fails (up 0: the exporter is down, unreachable or answers after the scrape timeout). "no data" when nothing is scraped.',
        [4, 1, 4, 4],
        [
          q.instant('count(probe_success{S} == 0 or up{S} == 0) or count(up{S}) * 0'),
        ],
      ) + {
        fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'red']) } },
      },
      lib.stat(
        'Ports blocked',
        'Dialogues whose TCP connect timed out (reason="timeout" at phase connect): a firewall silently drops the traffic. Per port, so the submission prober\'s 465 or 2525 counts even when 587 works. "no data" when no probe result is stored.',
        [8, 1, 4, 4],
        [
          q.instant('count(probe_smtp_failure{S, phase="connect", reason="timeout"}) or count(probe_success{S}) * 0'),
        ],
      ) + {
        fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'purple']) } },
      },
      lib.stat(
        'Ports refused',
        'Dialogues refused with a reset (reason="refused"): nothing listening, or a firewall REJECT. "no data" when no probe result is stored.',
        [12, 1, 4, 4],
        [
          q.instant('count(probe_smtp_failure{S, reason="refused"}) or count(probe_success{S}) * 0'),
        ],
      ) + {
        fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'orange']) } },
      },
      lib.stat(
        'Submission fallbacks',
        'Submission probes whose decision rule picked 465 or 2525 because 587 fails: mail flows, but clients configured for 587 break. "no data" when no probe result is stored.',
        [16, 1, 4, 4],
        [
          q.instant('count(probe_smtp_submission_port{S} > 0 and probe_smtp_submission_port{S} != 587) or count(probe_success{S}) * 0'),
        ],
      ) + {
        fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'yellow']) } },
      },
      lib.stat(
        'Certificates < %d days' % config.certificateExpiryWarningDays,
        'Certificates expiring within %d days: the earliest expiry of the verified chain, or of the leaf certificate when the chain does not verify (as SmtpCertificateExpiringSoon). "no data" when no probe result is stored.' % config.certificateExpiryWarningDays,
        [20, 1, 4, 4],
        [
          q.instant('count(%s - time() < %d * 86400) or count(probe_success{S}) * 0' % [expiry, config.certificateExpiryWarningDays]),
        ],
      ) + {
        fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'orange']) } },
      },
      lib.tablePanel(
        'Status by dialogue',
        'One row per SMTP dialogue (job, target, port, vantage): OK, FAIL, BLOCKED (connect timed out) or REFUSED; the failure\'s phase, reason and reply code; greeting code; TLS version; days until the certificate expires (the verified chain, or the leaf when it does not verify); whether it verifies; the dialogue\'s duration. Click a target for its own dashboard.',
        [0, 5, 24, 10],
        [
          q.table('label_replace(max by (job, instance, vantage, port) (label_replace((probe_smtp_reachable{S} * 0 + 1 unless ignoring (phase, reason) probe_smtp_failure{S}) or (max without (phase, reason) (probe_smtp_failure{S, phase="connect", reason="timeout"}) * -1) or (max without (phase, reason) (probe_smtp_failure{S, reason="refused"}) * -2) or probe_smtp_reachable{S} * 0, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")'),
          q.table('label_replace(max by (job, instance, vantage, port, phase, reason) (label_replace(probe_smtp_failure{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'B'),
          q.table('label_replace(max by (job, instance, vantage, port) (label_replace(probe_smtp_failure_reply_code{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'C'),
          q.table('label_replace(max by (job, instance, vantage, port) (label_replace(probe_smtp_greeting_code{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'D'),
          q.table('label_replace(max by (job, instance, vantage, port, version) (label_replace(probe_tls_version_info{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'E'),
          q.table('label_replace(min by (job, instance, vantage, port) (label_replace((%s - time()) / 86400, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")' % expiry, 'F'),
          q.table('label_replace(max by (job, instance, vantage, port) (label_replace(probe_tls_certificate_verified{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'G'),
          q.table('label_replace(sum by (job, instance, vantage, port) (label_replace(probe_smtp_duration_seconds{S}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)")), "vantage", "(none)", "vantage", "")', 'H'),
        ],
      ) + {
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, "Value #B": true, "Value #E": true },
              renameByName: {
                job: 'Job',
                instance: 'Target',
                port: 'Port',
                vantage: 'Vantage',
                "Value #A": 'Status',
                phase: 'Phase',
                reason: 'Reason',
                "Value #C": 'Reply code',
                "Value #D": 'Greeting',
                version: 'TLS',
                "Value #F": 'Cert days left',
                "Value #G": 'Verified',
                "Value #H": 'Dialogue',
              },
              indexByName: {
                job: 0,
                instance: 1,
                port: 2,
                vantage: 3,
                "Value #A": 4,
                phase: 5,
                reason: 6,
                "Value #C": 7,
                "Value #D": 8,
                version: 9,
                "Value #F": 10,
                "Value #G": 11,
                "Value #H": 12,
              },
            },
          },
        ],
        fieldConfig+: {
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
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                { id: 'custom.width', value: 80 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Cert days left' },
              properties: [
                { id: 'decimals', value: 1 },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: lib.steps(['red', config.certificateExpiryCriticalDays, 'orange', config.certificateExpiryWarningDays, 'green']).steps,
                  },
                },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                { id: 'custom.width', value: 120 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Greeting' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    { type: 'value', options: { "220": { color: 'green', index: 0 } } },
                    { type: 'range', options: { from: 400, to: 499, result: { color: 'orange', index: 1 } } },
                    { type: 'range', options: { from: 500, to: 599, result: { color: 'red', index: 2 } } },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
                { id: 'custom.width', value: 85 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Reply code' },
              properties: [{ id: 'custom.width', value: 95 }],
            },
            { matcher: { id: 'byName', options: 'Port' }, properties: [{ id: 'custom.width', value: 70 }] },
            {
              matcher: { id: 'byName', options: 'Dialogue' },
              properties: [{ id: 'unit', value: 's' }, { id: 'decimals', value: 2 }, { id: 'custom.width', value: 90 }],
            },
            {
              matcher: { id: 'byName', options: 'Target' },
              properties: [
                {
                  id: 'links',
                  value: [
                    {
                      title: 'Open ${__data.fields.Target} in the target dashboard',
                      url: '/d/smtp-exporter-target/smtp-exporter-target?var-job=${__data.fields.Job}&var-instance=${__data.fields.Target}&${datasource:queryparam}&${__url_time_range}',
                    },
                  ],
                },
              ],
            },
          ],
        },
        options+: {
          sortBy: [{ displayName: 'Status', desc: false }],
        },
      },
    ];
  local later =
    [
      lib.row('Network paths', 15),
      lib.tablePanel(
        'Target × vantage',
        'Each endpoint (host:port) as seen from each vantage point: OK, FAIL, BLOCKED or REFUSED (the worst of the jobs probing it). "587 is blocked" is a fact about a network path: compare the columns. Series without a vantage label are in the (none) column.',
        [0, 16, 12, 10],
        [
          q.table('min by (target, vantage) (label_replace(label_replace(label_join((probe_smtp_reachable{S} * 0 + 1 unless ignoring (phase, reason) probe_smtp_failure{S}) or (max without (phase, reason) (probe_smtp_failure{S, phase="connect", reason="timeout"}) * -1) or (max without (phase, reason) (probe_smtp_failure{S, reason="refused"}) * -2) or probe_smtp_reachable{S} * 0, "target", ":", "instance", "port"), "target", "$1", "target", "(.*):"), "vantage", "(none)", "vantage", ""))'),
        ],
      ) + {
        transformations: [
          {
            id: 'groupingToMatrix',
            options: { columnField: 'vantage', rowField: 'target', valueField: 'Value', emptyValue: 'null' },
          },
        ],
        fieldConfig+: {
          defaults+: {
            custom+: {
              cellOptions+: {
                type: 'color-background',
              },
            },
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
        },
      },
      lib.tablePanel(
        'Blocked ports',
        'Dialogues whose TCP connect times out now: a firewall on the path from that vantage silently drops the traffic (SmtpPortBlocked fires after 5 minutes when the probe fails).',
        [12, 16, 12, 10],
        [
          q.table('max by (job, instance, port, vantage) (label_replace(probe_smtp_failure{S, phase="connect", reason="timeout"}, "port", "$1", "instance", "(?:.*]|[^:]*):([0-9]+)"))'),
        ],
      ) + {
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, Value: true },
              renameByName: { job: 'Job', instance: 'Target', port: 'Port', vantage: 'Vantage' },
              indexByName: { job: 0, instance: 1, port: 2, vantage: 3 },
            },
          },
        ],
        fieldConfig+: {
          defaults+: {
            noValue: 'No port is blocked',
          },
          overrides: [
            {
              matcher: { id: 'byName', options: 'Target' },
              properties: [
                {
                  id: 'links',
                  value: [
                    {
                      title: 'Open ${__data.fields.Target} in the target dashboard',
                      url: '/d/smtp-exporter-target/smtp-exporter-target?var-job=${__data.fields.Job}&var-instance=${__data.fields.Target}&${datasource:queryparam}&${__url_time_range}',
                    },
                  ],
                },
              ],
            },
          ],
        },
      },
      lib.stateTimeline(
        'Status history by endpoint and vantage',
        'The same status over time: OK, FAIL, BLOCKED, REFUSED.',
        [0, 26, 24, 8],
        [
          q.range('min by (target, vantage) (label_replace(label_replace(label_join((probe_smtp_reachable{S} * 0 + 1 unless ignoring (phase, reason) probe_smtp_failure{S}) or (max without (phase, reason) (probe_smtp_failure{S, phase="connect", reason="timeout"}) * -1) or (max without (phase, reason) (probe_smtp_failure{S, reason="refused"}) * -2) or probe_smtp_reachable{S} * 0, "target", ":", "instance", "port"), "target", "$1", "target", "(.*):"), "vantage", "(none)", "vantage", ""))', 'A', '{{target}} @ {{vantage}}'),
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
        },
      },
      lib.row('Inbound MX (port 25)', 34),
      lib.tablePanel(
        'Mail domains',
        'Domains probed with the mx prober: the probe (OK when every MX host works), MX hosts probed, working and down (probe_smtp_mx_hosts, probe_smtp_mx_hosts_working), the MTA-STS policy\'s mode (mx.mta_sts; empty: no valid policy, or not checked), and the domain\'s own failure: the MX lookup (resolve: dns, null_mx) or the MTA-STS policy (mta_sts). Empty without an mx job.',
        [0, 35, 12, 7],
        [
          q.table('label_replace(max by (job, instance, vantage) (probe_success{S} and probe_smtp_mx_hosts{S}), "vantage", "(none)", "vantage", "")'),
          q.table('label_replace(max by (job, instance, vantage) (probe_smtp_mx_hosts{S}), "vantage", "(none)", "vantage", "")', 'B'),
          q.table('label_replace(max by (job, instance, vantage) (probe_smtp_mx_hosts_working{S}), "vantage", "(none)", "vantage", "")', 'C'),
          q.table('label_replace(max by (job, instance, vantage) (probe_smtp_mx_hosts{S} - probe_smtp_mx_hosts_working{S}), "vantage", "(none)", "vantage", "")', 'D'),
          q.table('label_replace(max by (job, instance, vantage) (probe_smtp_mta_sts_mode_info{S, mode="enforce"} * 3 or probe_smtp_mta_sts_mode_info{S, mode="testing"} * 2 or probe_smtp_mta_sts_mode_info{S, mode="none"}), "vantage", "(none)", "vantage", "")', 'E'),
          q.table('label_replace(max by (job, instance, vantage, phase, reason) (probe_smtp_failure{S, mx=""} and ignoring (phase, reason) probe_smtp_mx_hosts{S}), "vantage", "(none)", "vantage", "")', 'F'),
        ],
      ) + {
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, "Value #F": true },
              renameByName: {
                job: 'Job',
                instance: 'Domain',
                vantage: 'Vantage',
                "Value #A": 'Status',
                "Value #B": 'MX hosts',
                "Value #C": 'Working',
                "Value #D": 'Down',
                "Value #E": 'MTA-STS',
                phase: 'Phase',
                reason: 'Reason',
              },
              indexByName: {
                job: 0,
                instance: 1,
                vantage: 2,
                "Value #A": 3,
                "Value #B": 4,
                "Value #C": 5,
                "Value #D": 6,
                "Value #E": 7,
                phase: 8,
                reason: 9,
              },
            },
          },
        ],
        fieldConfig+: {
          defaults+: {
            noValue: 'No mx probe',
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
                { id: 'custom.width', value: 80 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Down' },
              properties: [
                {
                  id: 'thresholds',
                  value: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] },
                },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                { id: 'custom.width', value: 70 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'MTA-STS' },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        "3": { text: 'enforce', color: 'green', index: 0 },
                        "2": { text: 'testing', color: 'yellow', index: 1 },
                        "1": { text: 'none', color: 'orange', index: 2 },
                      },
                    },
                  ],
                },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
                { id: 'custom.width', value: 90 },
              ],
            },
            { matcher: { id: 'byName', options: 'MX hosts' }, properties: [{ id: 'custom.width', value: 85 }] },
            { matcher: { id: 'byName', options: 'Working' }, properties: [{ id: 'custom.width', value: 80 }] },
            {
              matcher: { id: 'byName', options: 'Domain' },
              properties: [
                {
                  id: 'links',
                  value: [
                    {
                      title: 'Open ${__data.fields.Domain} in the target dashboard',
                      url: '/d/smtp-exporter-target/smtp-exporter-target?var-job=${__data.fields.Job}&var-instance=${__data.fields.Domain}&${datasource:queryparam}&${__url_time_range}',
                    },
                  ],
                },
              ],
            },
          ],
        },
        options+: {
          sortBy: [{ displayName: 'Status', desc: false }],
        },
      },
      lib.tablePanel(
        'Hosts probed on every address',
        'Hosts probed with all_addresses (tcp, starttls, tls, mx): A and AAAA records probed, working and down (probe_smtp_addresses, probe_smtp_addresses_working), per target and, for the mx prober, per MX host. A dead address (typically the AAAA of a dual-stack MX) loses mail from the senders that pick it; the per-target dashboard shows which. Empty without all_addresses.',
        [12, 35, 12, 7],
        [
          q.table('label_replace(max by (job, instance, vantage, mx) (probe_smtp_addresses{S}), "vantage", "(none)", "vantage", "")'),
          q.table('label_replace(max by (job, instance, vantage, mx) (probe_smtp_addresses_working{S}), "vantage", "(none)", "vantage", "")', 'B'),
          q.table('label_replace(max by (job, instance, vantage, mx) (probe_smtp_addresses{S} - probe_smtp_addresses_working{S}), "vantage", "(none)", "vantage", "")', 'C'),
        ],
      ) + {
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true },
              renameByName: {
                job: 'Job',
                instance: 'Target',
                mx: 'MX host',
                vantage: 'Vantage',
                "Value #A": 'Addresses',
                "Value #B": 'Working',
                "Value #C": 'Down',
              },
              indexByName: { job: 0, instance: 1, mx: 2, vantage: 3, "Value #A": 4, "Value #B": 5, "Value #C": 6 },
            },
          },
        ],
        fieldConfig+: {
          defaults+: {
            noValue: 'No all_addresses probe',
          },
          overrides: [
            {
              matcher: { id: 'byName', options: 'Down' },
              properties: [
                {
                  id: 'thresholds',
                  value: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] },
                },
                { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
                { id: 'custom.width', value: 70 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'Target' },
              properties: [
                {
                  id: 'links',
                  value: [
                    {
                      title: 'Open ${__data.fields.Target} in the target dashboard',
                      url: '/d/smtp-exporter-target/smtp-exporter-target?var-job=${__data.fields.Job}&var-instance=${__data.fields.Target}&${datasource:queryparam}&${__url_time_range}',
                    },
                  ],
                },
              ],
            },
          ],
        },
        options+: {
          sortBy: [{ displayName: 'Down', desc: true }],
        },
      },
      lib.tablePanel(
        'MX hosts',
        'Each MX host of each domain (mx prober): OK, FAIL, BLOCKED or REFUSED (the worst of its addresses with all_addresses) and one of its failures (all of them: the per-target dashboard); DANE (dane: true): TLSA records at _25._tcp.MXHOST, whether the answer was DNSSEC-validated, whether the certificate chain matches a validated record (empty: no validated, usable record); MTA-STS (mx.mta_sts): whether the policy\'s mx patterns name the host. Click a domain for its own dashboard.',
        [0, 42, 24, 8],
        [
          q.table('label_replace(min by (job, instance, vantage, mx, preference) ((probe_smtp_reachable{S, mx!=""}) * 0 + 1 unless ignoring (phase, reason) (probe_smtp_failure{S, mx!=""}) or (max without (phase, reason) (probe_smtp_failure{S, mx!="", phase="connect", reason="timeout"}) * -1) or (max without (phase, reason) (probe_smtp_failure{S, mx!="", reason="refused"}) * -2) or max without (phase, reason) (probe_smtp_failure{S, mx!=""}) * 0), "vantage", "(none)", "vantage", "")'),
          q.table('label_replace(max by (job, instance, vantage, mx, preference, phase, reason) (topk by (job, instance, vantage, mx, preference) (1, probe_smtp_failure{S, mx!=""})), "vantage", "(none)", "vantage", "")', 'B'),
          q.table('label_replace(max by (job, instance, vantage, mx, preference) (probe_smtp_dane_records{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'C'),
          q.table('label_replace(min by (job, instance, vantage, mx, preference) (probe_smtp_dane_validated{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'D'),
          q.table('label_replace(min by (job, instance, vantage, mx, preference) (probe_smtp_dane_match{S, mx!=""}), "vantage", "(none)", "vantage", "")', 'E'),
          q.table('label_replace(max by (job, instance, vantage, mx, preference) (probe_smtp_mta_sts_mx_match{S}), "vantage", "(none)", "vantage", "")', 'F'),
        ],
      ) + {
        transformations: [
          { id: 'merge', options: {} },
          {
            id: 'organize',
            options: {
              excludeByName: { Time: true, "Value #B": true },
              renameByName: {
                job: 'Job',
                instance: 'Domain',
                mx: 'MX host',
                preference: 'Preference',
                vantage: 'Vantage',
                "Value #A": 'Status',
                phase: 'Phase',
                reason: 'Reason',
                "Value #C": 'TLSA records',
                "Value #D": 'DNSSEC',
                "Value #E": 'DANE match',
                "Value #F": 'In MTA-STS policy',
              },
              indexByName: {
                job: 0,
                instance: 1,
                mx: 2,
                preference: 3,
                vantage: 4,
                "Value #A": 5,
                phase: 6,
                reason: 7,
                "Value #C": 8,
                "Value #D": 9,
                "Value #E": 10,
                "Value #F": 11,
              },
            },
          },
        ],
        fieldConfig+: {
          defaults+: {
            noValue: 'No mx probe',
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
              matcher: { id: 'byName', options: 'Preference' },
              properties: [{ id: 'custom.width', value: 95 }],
            },
            {
              matcher: { id: 'byName', options: 'Domain' },
              properties: [
                {
                  id: 'links',
                  value: [
                    {
                      title: 'Open ${__data.fields.Domain} in the target dashboard',
                      url: '/d/smtp-exporter-target/smtp-exporter-target?var-job=${__data.fields.Job}&var-instance=${__data.fields.Domain}&${datasource:queryparam}&${__url_time_range}',
                    },
                  ],
                },
              ],
            },
          ],
        },
        options+: {
          sortBy: [{ displayName: 'Status', desc: false }],
        },
      },
      lib.row('Over time', 50),
      lib.timeseries(
        'Success ratio',
        'Share of successful probes per job, target and vantage (avg_over_time of probe_success), and over all selected probes.',
        [0, 51, 12, 8],
        [
          q.range('avg by (job, instance, vantage) (avg_over_time(probe_success{S}[$__rate_interval]))', 'A', '{{instance}} {{vantage}} ({{job}})'),
          q.range('avg(avg_over_time(probe_success{S}[$__rate_interval]))', 'B', 'all selected'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            unit: 'percentunit',
            min: 0,
            max: 1,
          },
        },
      },
      lib.stat(
        'Success ratio over the time range',
        'avg_over_time(probe_success) over the dashboard\'s time range.',
        [12, 51, 4, 8],
        [
          q.instant('avg(avg_over_time(probe_success{S}[$__range]))'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            thresholds+: {
              steps: [{ color: 'red', value: null }, { color: 'orange', value: 0.95 }, { color: 'green', value: 0.999 }],
            },
            unit: 'percentunit',
            decimals: 2,
          } + lib.noData,
        },
      },
      lib.timeseries(
        'Failures by reason',
        'Failing dialogues by phase and reason (probe_smtp_failure).',
        [16, 51, 8, 8],
        [
          q.range('count by (phase, reason) (probe_smtp_failure{S})', 'A', '{{reason}} at {{phase}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
            custom+: {
              drawStyle: 'bars',
              fillOpacity: 80,
              stacking+: {
                mode: 'normal',
              },
            },
            decimals: 0,
          },
        },
      },
      lib.timeseries(
        'Latency by phase (slowest probe)',
        'The slowest selected probe\'s duration of each SMTP phase: resolve, connect, greeting, ehlo, starttls, tls, auth, mail, quit.',
        [0, 59, 24, 8],
        [
          q.range('max by (phase) (probe_smtp_duration_seconds{S})', 'A', '{{phase}}'),
        ],
      ) + {
        fieldConfig+: {
          defaults+: {
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
    ];
  // Below the status table: the exporter itself, 16 rows high.
  local health = (import 'health.libsonnet')(config, 15) + [
    lib.timeseries(
      'Probe duration',
      'Whole probe duration per job, target and vantage (probe_duration_seconds). A blocked port takes the whole timeout.',
      [0, 24, 24, 7],
      [
        q.range('max by (job, instance, vantage) (probe_duration_seconds{S})', 'A', '{{instance}} {{vantage}} ({{job}})'),
      ],
    ) + {
      fieldConfig+: {
        defaults+: {
          unit: 's',
        },
      },
    }
  ];
  local panels = glance + health + [p { gridPos+: { y: super.y + 16 } } for p in later];
  lib.dashboard(
    config,
    'smtp-exporter-overview',
    'SMTP exporter / Overview',
    'Every SMTP endpoint probed by smtp_exporter: status and failure reason, blocked ports, network paths by vantage point, inbound MX domains (MX hosts, addresses, DANE, MTA-STS), success ratio and latency by phase.',
    panels,
    true,
  )

// Everything a user tunes, in one place. Override in your own jsonnet:
//
//   (import 'smtp_exporter/mixin/mixin.libsonnet') + {
//     _config+:: { smtpSelector: 'job=~"mail-probes.*"', outageFor: '10m' },
//   }
{
  _config+:: {
    // The series of smtp_exporter's scrapes: the /probe jobs (probe_* metrics
    // and their `up`) and the exporter's own /metrics job (smtp_exporter_*).
    // The default matches every job naming the examples use: smtp_starttls,
    // smtp_submission… (examples/prometheus*.yml), and the Prometheus
    // Operator's defaults without jobName: probe/NAMESPACE/smtp-… for a
    // Probe, scrapeConfig/NAMESPACE/smtp-… for a ScrapeConfig. The alert
    // SmtpExporterDown fires when it matches no series at all, so a selector
    // that misses your jobs does not go unnoticed.
    smtpSelector: 'job=~"(probe/[^/]+/|scrapeConfig/[^/]+/)?smtp.*"',
    // The exporter's own /metrics job, if it is named differently.
    exporterSelector: self.smtpSelector,

    // A dialogue (a target, a submission port, an MX host, an address)
    // failing at every probe for this long pages, whatever the reasons.
    outageFor: '5m',
    // Conditions that do not fail a probe (no STARTTLS on port 25, AUTH
    // before TLS, a certificate that does not verify, MTA-STS testing).
    warningFor: '15m',
    // The submission prober falls back from 587; a phase is slow; a
    // certificate nears its expiry.
    fallbackFor: '10m',
    slowFor: '10m',
    certificateFor: '10m',
    // Weaker protection, nothing broken (DANE not validated, MTA-STS not
    // enforced).
    infoFor: '1h',
    // Exporter health: not scraped, config reload failed.
    exporterFor: '5m',

    // Intermittent failures (SmtpProbeIntermittent): over the window, less
    // than this share of probes succeeded, in at least two separate failure
    // spells (probe_success changed at least intermittentMinChanges times),
    // with at least intermittentMinSamples probes stored. See the runbook for
    // why these numbers.
    intermittentWindow: '1h',
    intermittentMaxSuccessRatio: 0.9,
    intermittentMinSamples: 10,
    intermittentMinChanges: 4,
    intermittentFor: '15m',

    certificateExpiryWarningDays: 21,
    certificateExpiryCriticalDays: 7,
    // SmtpHandshakeSlow: any phase slower than this, the greeting slower
    // than slowGreetingSeconds (Postfix postscreen delays it by up to 6s).
    slowPhaseSeconds: 5,
    slowGreetingSeconds: 10,

    // runbook_url of every alert: the pattern's %s is the runbook anchor
    // (the alert name in lower case).
    runbookURLPattern: 'https://github.com/smtp-exporter/smtp_exporter/blob/main/dashboards/README.md#%s',

    // Dashboards.
    dashboardTags: ['smtp_exporter'],
    dashboardRefresh: '1m',
    dashboardTimeFrom: 'now-6h',
  },
}

{{/* Names, labels and the derived values every template shares. */}}

{{- define "otel-desk-receiver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "otel-desk-receiver.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "otel-desk-receiver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otel-desk-receiver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "otel-desk-receiver.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "otel-desk-receiver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "otel-desk-receiver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "otel-desk-receiver.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "otel-desk-receiver.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding the Desk API token; fails when none is given (NOTES and the workload both call it). */}}
{{- define "otel-desk-receiver.tokenSecretName" -}}
{{- if include "otel-desk-receiver.multiApp" . }}
{{- $_ := include "otel-desk-receiver.apps" . }}
{{- fail "otel-desk-receiver: with apps, each app has its own token Secret (apps[].token or apps[].existingSecret)" }}
{{- else if .Values.token.existingSecret }}
{{- .Values.token.existingSecret }}
{{- else if .Values.token.value }}
{{- include "otel-desk-receiver.fullname" . }}
{{- else }}
{{- fail "otel-desk-receiver: no Desk API token: set token.existingSecret (a Secret you manage, key token.existingSecretKey) or token.value (the chart creates the Secret)" }}
{{- end }}
{{- end }}

{{- define "otel-desk-receiver.headersSecretName" -}}
{{- if .Values.otlp.headers.existingSecret }}
{{- .Values.otlp.headers.existingSecret }}
{{- else if .Values.otlp.headers.value }}
{{- include "otel-desk-receiver.fullname" . }}
{{- end }}
{{- end }}

{{/* True ("true") when the chart must create its own Secret. */}}
{{- define "otel-desk-receiver.ownSecret" -}}
{{- if or (and .Values.token.value (not .Values.token.existingSecret)) (and .Values.otlp.headers.value (not .Values.otlp.headers.existingSecret)) }}true{{- end }}
{{- end }}

{{- define "otel-desk-receiver.claimName" -}}
{{- default (printf "%s-state" (include "otel-desk-receiver.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{- define "otel-desk-receiver.stateDir" -}}
{{- dir .Values.settings.statePath }}
{{- end }}

{{/*
DESK_HEALTH_ADDR: settings.healthAddr when given ("" turns the endpoints off); left null, the
mode's default. A sidecar shares the host pod's network namespace, where the OpenTelemetry
Collector's health_check extension already listens on 13133.
*/}}
{{- define "otel-desk-receiver.healthAddr" -}}
{{- if kindIs "invalid" .Values.settings.healthAddr }}
{{- ternary "0.0.0.0:13134" "0.0.0.0:13133" (eq .Values.mode "sidecar") }}
{{- else }}
{{- .Values.settings.healthAddr }}
{{- end }}
{{- end }}

{{/* The health port, taken from the health address ("" when the endpoints are off). */}}
{{- define "otel-desk-receiver.healthPort" -}}
{{- with include "otel-desk-receiver.healthAddr" . }}
{{- regexReplaceAll "^.*:" . "" }}
{{- end }}
{{- end }}

{{/* The port of /metrics when the metrics are served for a Prometheus scrape; empty otherwise. */}}
{{- define "otel-desk-receiver.prometheusPort" -}}
{{- if has "prometheus" (splitList "," .Values.metrics.exporter) }}
{{- if eq (toString .Values.metrics.prometheusPort) (include "otel-desk-receiver.healthPort" .) }}
{{- fail (printf "otel-desk-receiver: metrics.prometheusPort %v is the health port too (settings.healthAddr): pick another" .Values.metrics.prometheusPort) }}
{{- end }}
{{- .Values.metrics.prometheusPort }}
{{- end }}
{{- end }}

{{/* Where the receiver container finds the token: a Secret volume, updated in place on rotation. */}}
{{- define "otel-desk-receiver.tokenDir" -}}
/var/run/secrets/otel-desk-receiver
{{- end }}

{{- define "otel-desk-receiver.emulatorName" -}}
{{- printf "%s-emulator" (include "otel-desk-receiver.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The DESK_API_URL to set: the explicit one, else the emulator's when it is enabled. */}}
{{- define "otel-desk-receiver.apiUrl" -}}
{{- if .Values.settings.apiUrl }}
{{- .Values.settings.apiUrl }}
{{- else if .Values.emulator.enabled }}
{{- printf "http://%s:%d/platform/v1" (include "otel-desk-receiver.emulatorName" .) (int .Values.emulator.port) }}
{{- end }}
{{- end }}

{{/*
Every non-secret variable of the receiver, as ConfigMap data: each settings key becomes
DESK_<SNAKE_CASE>; empty strings and lists are left out so the receiver's defaults apply,
except healthAddr, where empty means "off" (and null the mode's default).
*/}}
{{- define "otel-desk-receiver.configData" -}}
{{- $multiApp := include "otel-desk-receiver.multiApp" . }}
{{- if $multiApp }}
{{- $_ := include "otel-desk-receiver.apps" . }}
{{- else if not (or .Values.settings.appId (include "otel-desk-receiver.apiUrl" .)) }}
{{- fail "otel-desk-receiver: set settings.appId (the Sendbird application ID), settings.apiUrl, or emulator.enabled" }}
{{- end }}
{{- range $key, $value := .Values.settings }}
{{- $env := printf "DESK_%s" (snakecase $key | upper) }}
{{- if and $multiApp (has $key (list "appId" "apiUrl" "botIds")) }}
{{- /* per app, in the apps file (the receiver refuses them beside it) */}}
{{- else if eq $key "apiUrl" }}
{{- with include "otel-desk-receiver.apiUrl" $ }}
{{ $env }}: {{ . | quote }}
{{- end }}
{{- else if eq $key "healthAddr" }}
{{- /* below: a null value may be missing from the map */}}
{{- else if has $key (list "stateConfigmap" "leaderElectionLeaseName" "kubernetesNamespace" "leaderElection") }}
{{- /* below: the names the Role grants, the namespace it is in, and election as the chart decides it */}}
{{- else if kindIs "slice" $value }}
{{- if $value }}
{{ $env }}: {{ join "," $value | quote }}
{{- end }}
{{- else if ne (toString $value) "" }}
{{ $env }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
DESK_HEALTH_ADDR: {{ include "otel-desk-receiver.healthAddr" . | quote }}
DESK_STATE_CONFIGMAP: {{ include "otel-desk-receiver.stateConfigMap" . | quote }}
DESK_LEADER_ELECTION: {{ ternary "true" "false" (eq (include "otel-desk-receiver.electing" .) "true") | quote }}
DESK_LEADER_ELECTION_LEASE_NAME: {{ include "otel-desk-receiver.leaseName" . | quote }}
DESK_KUBERNETES_NAMESPACE: {{ default .Release.Namespace .Values.settings.kubernetesNamespace | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ .Values.otlp.protocol | quote }}
OTEL_SERVICE_NAME: {{ .Values.otlp.serviceName | quote }}
{{- with .Values.otlp.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.otlp.timeoutMs | toString }}
OTEL_EXPORTER_OTLP_TIMEOUT: {{ . | quote }}
{{- end }}
{{- with .Values.otlp.compression }}
OTEL_EXPORTER_OTLP_COMPRESSION: {{ . | quote }}
{{- end }}
{{- with .Values.otlp.metricsTemporalityPreference }}
OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: {{ . | quote }}
{{- end }}
{{- with .Values.otlp.metricExportIntervalMs | toString }}
OTEL_METRIC_EXPORT_INTERVAL: {{ . | quote }}
{{- end }}
OTEL_METRICS_EXPORTER: {{ .Values.metrics.exporter | quote }}
{{- with include "otel-desk-receiver.prometheusPort" . }}
{{- /* Scraped at the pod's address, not only from inside the container. */}}
OTEL_EXPORTER_PROMETHEUS_HOST: "0.0.0.0"
OTEL_EXPORTER_PROMETHEUS_PORT: {{ . | quote }}
{{- end }}
{{- with .Values.otlp.resourceAttributes }}
{{- $pairs := list }}
{{- range $k, $v := . }}
{{- $pairs = append $pairs (printf "%s=%s" $k (toString $v)) }}
{{- end }}
OTEL_RESOURCE_ATTRIBUTES: {{ join "," $pairs | quote }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by the receiver's and the emulator's Deployments. */}}
{{- define "otel-desk-receiver.podCommon" -}}
serviceAccountName: {{ include "otel-desk-receiver.serviceAccountName" . }}
{{- /* The Kubernetes state backend and leader election need the pod's API token. */}}
automountServiceAccountToken: {{ or .Values.serviceAccount.automountServiceAccountToken (eq (include "otel-desk-receiver.usesKubeApi" .) "true") }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
High availability (README, "High availability"): the state backend, whether the receiver campaigns
for the Lease, and whether it talks to the Kubernetes API at all ("true" or "").
*/}}
{{- define "otel-desk-receiver.kubeState" -}}
{{- if eq (default "file" .Values.settings.stateBackend) "kubernetes" }}true{{ end }}
{{- end }}

{{- define "otel-desk-receiver.electing" -}}
{{- if kindIs "invalid" .Values.settings.leaderElection }}
{{- include "otel-desk-receiver.kubeState" . }}
{{- else if .Values.settings.leaderElection }}true{{ end }}
{{- end }}

{{/* Hot standby: the state in a ConfigMap and leader election, so replicas and rollouts may overlap. */}}
{{- define "otel-desk-receiver.hotStandby" -}}
{{- if and (include "otel-desk-receiver.kubeState" .) (include "otel-desk-receiver.electing" .) }}true{{ end }}
{{- end }}

{{- define "otel-desk-receiver.usesKubeApi" -}}
{{- if or (include "otel-desk-receiver.kubeState" .) (include "otel-desk-receiver.electing" .) }}true{{ end }}
{{- end }}

{{- define "otel-desk-receiver.stateConfigMap" -}}
{{- default (printf "%s-state" (include "otel-desk-receiver.fullname" .)) .Values.settings.stateConfigmap }}
{{- end }}

{{- define "otel-desk-receiver.leaseName" -}}
{{- default (printf "%s-leader" (include "otel-desk-receiver.fullname" .)) .Values.settings.leaderElectionLeaseName }}
{{- end }}

{{/* The ServiceAccount the receiver's pod runs as: the chart's own, or the host pod's in sidecar mode. */}}
{{- define "otel-desk-receiver.podServiceAccount" -}}
{{- if eq .Values.mode "sidecar" }}
{{- required "sidecar mode with the Kubernetes API (settings.stateBackend=kubernetes or leaderElection): set rbac.hostServiceAccount to the host pod's ServiceAccount (the Collector chart's serviceAccount.name)" .Values.rbac.hostServiceAccount }}
{{- else }}
{{- include "otel-desk-receiver.serviceAccountName" . }}
{{- end }}
{{- end }}

{{/*
Several Desk apps (values `apps`; docs/configuration.md, "Several Desk apps"): "true" when given. The apps go to the receiver
in a --config file (ConfigMap <fullname>-apps), each app's token as a file of its own Secret volume.
*/}}
{{- define "otel-desk-receiver.multiApp" -}}
{{- if .Values.apps }}true{{ end }}
{{- end }}

{{- define "otel-desk-receiver.appsConfigMap" -}}
{{- printf "%s-apps" (include "otel-desk-receiver.fullname" .) }}
{{- end }}

{{- define "otel-desk-receiver.appsDir" -}}
/etc/otel-desk-receiver
{{- end }}

{{- define "otel-desk-receiver.appsFilePath" -}}
{{- include "otel-desk-receiver.appsDir" . }}/apps.yaml
{{- end }}

{{/* An app's label as the receiver gives it: its appId, else its API host[:port] without user info. */}}
{{- define "otel-desk-receiver.appLabel" -}}
{{- if .appId }}
{{- .appId }}
{{- else }}
{{- (urlParse .apiUrl).host }}
{{- end }}
{{- end }}

{{/*
The name of one app's object from a base name, as the receiver's kube/object_names.py per_app_name writes it:
<base>-<slug> (the label in lower case, every run of other characters a '-'), with the first 8 hex digits of the
label's SHA-256 appended when the slug is not the label itself, ends as such a hash does ('-' and 8 hex digits)
or the name passes 253 characters. Arguments: a dict with base and label.
*/}}
{{- define "otel-desk-receiver.perAppName" -}}
{{- $slug := trimAll "-" (regexReplaceAll "[^a-z0-9]+" (lower .label) "-") }}
{{- $plain := printf "%s-%s" .base $slug }}
{{- if and (eq $slug .label) (le (len $plain) 253) (not (regexMatch "-[0-9a-f]{8}$" $plain)) }}
{{- $plain }}
{{- else }}
{{- $head := regexReplaceAll "[-.]+$" (trunc 244 (regexReplaceAll "-+$" $plain "")) "" }}
{{- printf "%s-%s" $head (trunc 8 (sha256sum .label)) }}
{{- end }}
{{- end }}

{{/*
Each app of the values with what the chart derives for it, as a YAML list: label, the Secret and key holding
its token, the volume and the directory it is mounted at, and ownSecret when the chart creates that Secret.
Fails, one line each, on what the receiver would refuse or the chart cannot render.
*/}}
{{- define "otel-desk-receiver.apps" -}}
{{- $fullname := include "otel-desk-receiver.fullname" . }}
{{- $set := list }}
{{- range $key := list "appId" "apiUrl" "botIds" }}
{{- if get $.Values.settings $key }}{{ $set = append $set (printf "settings.%s" $key) }}{{ end }}
{{- end }}
{{- range $key := list "value" "existingSecret" }}
{{- if get $.Values.token $key }}{{ $set = append $set (printf "token.%s" $key) }}{{ end }}
{{- end }}
{{- with $set }}
{{- fail (printf "otel-desk-receiver: apps is set, so %s must be empty: each app gives its own (apps[].appId or apiUrl, botIds, token or existingSecret)" (join ", " .)) }}
{{- end }}
{{- if .Values.emulator.enabled }}
{{- fail "otel-desk-receiver: emulator.enabled serves the single app of settings and token, not apps: turn one of them off" }}
{{- end }}
{{- $labels := dict }}
{{- $apps := list }}
{{- range $i, $app := .Values.apps }}
{{- $label := include "otel-desk-receiver.appLabel" $app }}
{{- if and $app.token $app.existingSecret }}
{{- fail (printf "otel-desk-receiver: apps[%d] (app %s): give token or existingSecret, not both" $i $label) }}
{{- end }}
{{- /* Desk's hosts ignore case, and so does the receiver: 6b0c1a2e and 6B0C1A2E are one app. */}}
{{- if hasKey $labels (lower $label) }}
{{- fail (printf "otel-desk-receiver: apps[%d] is app %s again (apps[%v]): each app once" $i $label (get $labels (lower $label))) }}
{{- end }}
{{- $_ := set $labels (lower $label) $i }}
{{- $secret := $app.existingSecret | default (include "otel-desk-receiver.perAppName" (dict "base" (printf "%s-token" $fullname) "label" $label)) }}
{{- $apps = append $apps (dict "label" $label "app" $app "secret" $secret "key" ($app.existingSecretKey | default "api-token") "ownSecret" (not $app.existingSecret) "volume" (printf "desk-receiver-token-%d" $i) "dir" (printf "%s/%s" (include "otel-desk-receiver.tokenDir" $) (include "otel-desk-receiver.perAppName" (dict "base" "app" "label" $label)))) }}
{{- end }}
{{- toYaml $apps }}
{{- end }}

{{/* The --config file with the apps list (common to every app: the DESK_* variables of ConfigMap <fullname>). */}}
{{- define "otel-desk-receiver.appsFile" -}}
# The Desk apps of this receiver (values apps), read with --config; every other setting is a DESK_*
# variable of ConfigMap {{ include "otel-desk-receiver.fullname" . }}. Each token is a file of the app's own Secret volume.
apps:
{{- range $entry := include "otel-desk-receiver.apps" . | fromYamlArray }}
{{- $app := $entry.app }}
  - {{ if $app.appId }}app_id: {{ $app.appId | quote }}{{ else }}api_url: {{ $app.apiUrl | quote }}{{ end }}
    {{- if and $app.appId $app.apiUrl }}
    api_url: {{ $app.apiUrl | quote }}
    {{- end }}
    api_token_file: {{ printf "%s/api-token" $entry.dir | quote }}
    {{- with $app.botIds }}
    bot_ids: {{ toJson . }}
    {{- end }}
    {{- if not (kindIs "invalid" $app.maxRps) }}
    max_rps: {{ $app.maxRps }}
    {{- end }}
    {{- with $app.backfill }}
    backfill: {{ . | quote }}
    {{- end }}
{{- end }}
{{- end }}

{{/* Every app's name for an object from its base name (per_app_name), as a YAML list. Arguments: root, base. */}}
{{- define "otel-desk-receiver.perAppNames" -}}
{{- $names := list }}
{{- range include "otel-desk-receiver.apps" .root | fromYamlArray }}
{{- $names = append $names (include "otel-desk-receiver.perAppName" (dict "base" $.base "label" .label)) }}
{{- end }}
{{- toYaml $names }}
{{- end }}

{{/*
With several apps and leader election, the Lease every replica renews to say it is live, so the apps spread
over the live replicas (the receiver's ha/members.py): <lease name>.members, the base cut to fit 253 characters.
*/}}
{{- define "otel-desk-receiver.membersLeaseName" -}}
{{- printf "%s.members" (regexReplaceAll "[-.]+$" (trunc 245 (include "otel-desk-receiver.leaseName" .)) "") }}
{{- end }}

{{/* The Leases and the state ConfigMaps the receiver uses (as YAML lists): one each, or with apps one per app. */}}
{{- define "otel-desk-receiver.leaseNames" -}}
{{- if include "otel-desk-receiver.multiApp" . }}
{{- include "otel-desk-receiver.perAppNames" (dict "root" . "base" (include "otel-desk-receiver.leaseName" .)) }}
{{- else }}
{{- list (include "otel-desk-receiver.leaseName" .) | toYaml }}
{{- end }}
{{- end }}

{{- define "otel-desk-receiver.stateConfigMaps" -}}
{{- if include "otel-desk-receiver.multiApp" . }}
{{- include "otel-desk-receiver.perAppNames" (dict "root" . "base" (include "otel-desk-receiver.stateConfigMap" .)) }}
{{- else }}
{{- list (include "otel-desk-receiver.stateConfigMap" .) | toYaml }}
{{- end }}
{{- end }}

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
{{- if .Values.token.existingSecret }}
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
{{- if not (or .Values.settings.appId (include "otel-desk-receiver.apiUrl" .)) }}
{{- fail "otel-desk-receiver: set settings.appId (the Sendbird application ID), settings.apiUrl, or emulator.enabled" }}
{{- end }}
{{- range $key, $value := .Values.settings }}
{{- $env := printf "DESK_%s" (snakecase $key | upper) }}
{{- if eq $key "apiUrl" }}
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

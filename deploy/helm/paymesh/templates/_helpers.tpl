{{/* The release-scoped name of the chart. */}}
{{- define "paymesh.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of one service's objects: <fullname>-<service>. */}}
{{- define "paymesh.serviceName" -}}
{{- printf "%s-%s" (include "paymesh.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "paymesh.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service. */}}
{{- define "paymesh.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "paymesh.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "paymesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "paymesh.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret that holds DATABASE_URL. */}}
{{- define "paymesh.databaseSecret" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- printf "%s-database" (include "paymesh.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret that holds the key material. */}}
{{- define "paymesh.cryptoSecret" -}}
{{- if .Values.crypto.existingSecret -}}
{{- .Values.crypto.existingSecret -}}
{{- else -}}
{{- printf "%s-crypto" (include "paymesh.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The Deployments the chart runs, as YAML: component → its `services` (name →
values entry), `ports` (name, port, protocol), the `probe` port, and
`replicas`, `autoscaling`, `resources`. mode: distributed gives one per
enabled service, named after it and run as `paymesh <service>`; mode: single
gives one, `all`, running `paymesh all` and serving every enabled service's
port. Every template ranges over these, so a service joins the mesh by its
entry in values.yaml alone.
*/}}
{{- define "paymesh.workloads" -}}
{{- $single := eq .Values.mode "single" -}}
{{- $groups := dict -}}
{{- range $name, $service := .Values.services -}}
{{- if has $name (list "all" "metrics") -}}
{{- fail (printf "services.%s: %q names the pod of mode: single or the metrics port; give the service another name" $name $name) -}}
{{- end -}}
{{- if $service.enabled -}}
{{- $component := ternary "all" $name $single -}}
{{- $group := get $groups $component | default dict -}}
{{- $_ := set $group $name $service -}}
{{- $_ := set $groups $component $group -}}
{{- end -}}
{{- end -}}
{{- $workloads := dict -}}
{{- range $component, $services := $groups -}}
{{- $shape := ternary $.Values.single (get $services $component) $single -}}
{{- $ports := list -}}
{{- $probe := dict -}}
{{- range $name, $service := $services -}}
{{- /* A one-service pod names its port after the protocol; the `all` pod,
       where several share it, after the service. */ -}}
{{- $ports = append $ports (dict "name" (ternary $name $service.protocol $single) "port" (int $service.port) "protocol" $service.protocol) -}}
{{- /* The gateway's /readyz asks every service it calls, so an http port
       is probed before any gRPC one. */ -}}
{{- if or (not $probe) (and (eq $service.protocol "http") (ne $probe.protocol "http")) -}}
{{- $probe = dict "protocol" $service.protocol "port" (int $service.port) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $workloads $component (dict "services" $services "ports" $ports "probe" $probe "replicas" (int $shape.replicas) "autoscaling" ($shape.autoscaling | default dict) "resources" ($shape.resources | default dict)) -}}
{{- end -}}
{{- toYaml $workloads -}}
{{- end -}}

{{/* The variable each key of `crypto` reaches a service as. */}}
{{- define "paymesh.secretVariables" -}}
keks: PAYMESH_KEKS
merchantTokenSecret: PAYMESH_MERCHANT_TOKEN_SECRET
fingerprintKey: PAYMESH_FINGERPRINT_KEY
serviceSecret: PAYMESH_SERVICE_SECRET
{{- end -}}

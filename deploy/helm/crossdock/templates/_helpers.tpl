{{- define "crossdock.labels" -}}
app.kubernetes.io/name: crossdock
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "crossdock.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.secretName }}
      key: {{ .Values.database.secretKey }}
- name: CROSSDOCK_LOG_FORMAT
  value: json
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Environment variables read from Kubernetes Secrets: a list of {name, secretName, key}. */}}
{{- define "crossdock.secretEnv" -}}
{{- range . }}
- name: {{ required "secretEnv: each entry needs a name" .name }}
  valueFrom:
    secretKeyRef:
      name: {{ required "secretEnv: each entry needs a secretName" .secretName }}
      key: {{ required "secretEnv: each entry needs a key" .key }}
{{- end }}
{{- end -}}

{{- define "crossdock.supergraphConfigMap" -}}
{{- .Values.supergraph.existingConfigMap | default (printf "%s-supergraph" .Release.Name) -}}
{{- end -}}

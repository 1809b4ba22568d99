{{- define "sophia.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sophia.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sophia.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "sophia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "sophia.selector" -}}
app.kubernetes.io/name: {{ include "sophia.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sophia.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "sophia.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.externalSecret.enabled -}}
{{- include "sophia.fullname" . -}}
{{- else -}}
{{- fail "set secrets.existingSecret or secrets.externalSecret.enabled: the pods need a database-url" -}}
{{- end -}}
{{- end -}}

{{- define "sophia.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "sophia.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the API, the workers and the migration job: settings file and secret references. */}}
{{- define "sophia.env" -}}
- name: SOPHIA_CONFIG
  value: /etc/sophia/sophia.toml
- name: SOPHIA_HOME
  value: /var/lib/sophia
- name: SOPHIA_STORAGE__URL
  value: file:/run/secrets/sophia/database-url
- name: SOPHIA_MASTER_KEY
  valueFrom:
    secretKeyRef: {name: {{ include "sophia.secretName" . }}, key: master-key, optional: true}
- name: SOPHIA_WEB__REDIS_URL
  valueFrom:
    secretKeyRef: {name: {{ include "sophia.secretName" . }}, key: redis-url, optional: true}
- name: SOPHIA_RUNS__SEAL_KEY
  value: file:/run/secrets/sophia/runs-seal-key
{{- if .Values.migrations.enabled }}
- name: SOPHIA_SERVER__UPGRADE_ON_START
  value: "false"
{{- end }}
{{- end -}}

{{- define "sophia.volumeMounts" -}}
- {name: config, mountPath: /etc/sophia, readOnly: true}
- {name: secrets, mountPath: /run/secrets/sophia, readOnly: true}
- {name: home, mountPath: /var/lib/sophia}
- {name: tmp, mountPath: /tmp}
{{- end -}}

{{- define "sophia.volumes" -}}
- name: config
  configMap: {name: {{ .configMap }}}
- name: secrets
  secret: {secretName: {{ include "sophia.secretName" .root }}}
- name: home
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "sophia.podSpecCommon" -}}
serviceAccountName: {{ include "sophia.serviceAccountName" . }}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

import { Module } from '@nestjs/common';
import { AdmissionRepository } from './admission.repository';
import { AdmissionService } from './admission.service';

@Module({ providers: [AdmissionRepository, AdmissionService], exports: [AdmissionService] })
export class AdmissionModule {}
